"""Lesion masks in CheXlocalize's published layout, and RSNA Pneumonia's box CSV.

CheXlocalize (rajpurkarlab/cheXlocalize; ``gt_segmentations_val.json`` / ``gt_segmentations_test.json``) stores
one JSON object for a split::

    {"patient64741_study1_view1_frontal":             # image id: the CheXpert path's patient, study and view
        {"Cardiomegaly": {"size": [height, width],      # of the original image
                          "counts": "<COCO compressed RLE>"},
         "Pleural Effusion": {...}, ...},               # one entry per pathology, empty masks included
     ...}

``counts`` is pycocotools' compressed run-length string: runs of 0s and 1s alternating (0s first), the image read
in column-major (Fortran) order, each run delta-coded against the run two back and written 5 bits a character
(offset 48, bit 0x20 = "more characters follow", bit 0x10 of the last one = negative). CheXlocalize's pathologies
are its ten, in :data:`CHEXLOCALIZE_PATHOLOGIES` (``Airspace Opacity`` is CheXpert's ``Lung Opacity``); its
evaluation expects every image to carry all ten, an all-zero mask where a finding is absent.

Masks are decoded to ``bool`` arrays [height, width]. A real mask is at the original resolution (about
2,300 × 2,800 px: 6.5 MB as bool), so a caller that keeps many should shrink each as it is read (``transform``).

Decoding is validated before pycocotools sees a string: its C decoder does not bounds-check, so a string whose
runs do not add up to height × width would write past the buffer instead of failing.

RSNA Pneumonia Detection (``stage_2_train_labels.csv``): ``patientId,x,y,width,height,Target``, one row per box
(pixels of the 1024 × 1024 image, x/y the top-left corner), or one row with empty box cells and Target 0 for an
image without one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path, PurePosixPath

import numpy as np
from pycocotools import mask as coco_mask

from igcl.io import atomic_path
from igcl.labels import COMPETITION_PATHOLOGIES

# rajpurkarlab/cheXlocalize eval_constants.LOCALIZATION_TASKS, in its order
CHEXLOCALIZE_PATHOLOGIES: tuple[str, ...] = (
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Lesion",
    "Airspace Opacity",
    "Edema",
    "Consolidation",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Support Devices",
)
# CheXpert's names where CheXlocalize uses another
CHEXPERT_NAMES = {"Airspace Opacity": "Lung Opacity"}
CHEXLOCALIZE_NAMES = {chexpert: ours for ours, chexpert in CHEXPERT_NAMES.items()}
CHEXLOCALIZE_TEST_JSON = "gt_segmentations_test.json"  # the name CheXlocalize gives its test-split masks
RSNA_COLUMNS = ("patientId", "x", "y", "width", "height", "Target")

_IMAGE_ID = re.compile(r"patient\d+_study\d+_view\d+_(frontal|lateral)")


def chexlocalize_image_id(path: str) -> str:
    """CheXlocalize's id of the image at a CheXpert ``Path`` (``[CheXpert-v1.0/]test/patient64741/study1/
    view1_frontal.jpg`` → ``patient64741_study1_view1_frontal``); ValueError for a path not in that layout."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    image_id = "_".join(parts[-3:-1] + (PurePosixPath(parts[-1]).stem,)) if len(parts) >= 3 else ""
    if not _IMAGE_ID.fullmatch(image_id):
        raise ValueError(f"{path!r} is not a CheXpert image path (…/patientN/studyN/viewN_frontal|lateral.jpg)")
    return image_id


def _check_pathologies(pathologies: Collection[str], where: str) -> None:
    for name in pathologies:
        if name not in CHEXLOCALIZE_PATHOLOGIES:
            hint = f" (CheXlocalize calls it {CHEXLOCALIZE_NAMES[name]!r})" if name in CHEXLOCALIZE_NAMES else ""
            raise ValueError(f"{where}: unknown pathology {name!r}{hint}; CheXlocalize's are "
                             f"{', '.join(CHEXLOCALIZE_PATHOLOGIES)}")


def encode_mask(mask: np.ndarray) -> dict:
    """pycocotools' compressed RLE of a 2-D 0/1 ``mask`` [height, width]: ``{"size": [h, w], "counts": str}``."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"a mask must be a non-empty 2-D array, got shape {mask.shape}")
    if mask.dtype != bool and not np.isin(mask, (0, 1)).all():
        raise ValueError("a mask must hold 0/1 (or bool) values only")
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_runs(counts: str) -> list[int]:
    """The run lengths in a compressed RLE string (0s first); ValueError when the string is not one."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("it ends inside a run length")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {counts[p]!r} at {p} is not an RLE character ('0'..'o')")
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            p += 1
            shift += 5
            if not more and c & 0x10:
                value -= 1 << shift  # sign-extend
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise ValueError(f"run {len(runs)} has negative length {value}")
        runs.append(value)
    return runs


def decode_rle(rle: object, *, where: str = "mask") -> np.ndarray:
    """A ``{"size": [h, w], "counts": str}`` entry → bool [h, w]; ValueError (prefixed ``where``) if malformed."""
    if not isinstance(rle, Mapping) or set(rle) != {"size", "counts"}:
        raise ValueError(f"{where}: expected an object with exactly 'size' and 'counts', got {_brief(rle)}")
    size, counts = rle["size"], rle["counts"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)):
        raise ValueError(f"{where}: 'size' must be [height, width] (positive integers), got {size!r}")
    if not isinstance(counts, str):
        raise ValueError(f"{where}: 'counts' must be a compressed RLE string, got {type(counts).__name__}")
    try:
        runs = rle_runs(counts)
    except ValueError as err:
        raise ValueError(f"{where}: malformed RLE 'counts': {err}") from None
    height, width = size
    if sum(runs) != height * width:
        raise ValueError(f"{where}: malformed RLE 'counts': its runs cover {sum(runs)} pixels, "
                         f"'size' {height}x{width} has {height * width}")
    return coco_mask.decode({"size": size, "counts": counts.encode("ascii")}).astype(bool)


def _brief(value: object) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list, str, int, float, bool, type(None))) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def write_chexlocalize_json(masks: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike[str]) -> None:
    """Write ``{image_id: {pathology: mask [h, w]}}`` as CheXlocalize's JSON, atomically. Keys are sorted, so the
    bytes depend only on the masks. Pathologies must be CheXlocalize's names; image ids are written as given
    (:func:`chexlocalize_image_id` makes CheXlocalize's from a CheXpert path)."""
    document: dict[str, dict[str, dict]] = {}
    for image_id in sorted(masks):
        if not isinstance(image_id, str) or not image_id:
            raise ValueError(f"{path}: image ids must be non-empty strings, got {image_id!r}")
        _check_pathologies(masks[image_id], f"{path}: image {image_id!r}")
        document[image_id] = {}
        for pathology in sorted(masks[image_id]):
            try:
                document[image_id][pathology] = encode_mask(masks[image_id][pathology])
            except ValueError as err:
                raise ValueError(f"{path}: image {image_id!r}, {pathology}: {err}") from None
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(document, sort_keys=True) + "\n", encoding="utf-8")


def read_chexlocalize_json(path: str | os.PathLike[str], *, image_ids: Collection[str] | None = None,
                           pathologies: Collection[str] = COMPETITION_PATHOLOGIES,
                           shape: tuple[int, int] | Mapping[str, tuple[int, int]] | None = None,
                           transform: Callable[[np.ndarray], np.ndarray] | None = None,
                           ) -> dict[str, dict[str, np.ndarray]]:
    """Read a CheXlocalize JSON: ``{image_id: {pathology: bool mask [h, w]}}``, image ids sorted, pathologies in
    the order of ``pathologies`` (the others in the file are validated and skipped).

    ValueError naming the file and the key when the file is not JSON or not a mapping of images to pathologies;
    when an image id is not among ``image_ids`` (if given); when a pathology is not one of CheXlocalize's ten
    (:data:`CHEXLOCALIZE_PATHOLOGIES`) or one of ``pathologies`` is missing for an image; when an RLE is malformed;
    when a mask's size is not ``shape`` (one (height, width) for all, or one per image id; None: any size).
    Images of ``image_ids`` absent from the file are not an error: CheXlocalize annotated a subset.
    ``transform`` is applied to each decoded mask after the checks (e.g. to shrink it to the model's size).
    """
    path = Path(path)
    _check_pathologies(pathologies, f"read_chexlocalize_json({path})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a JSON file ({err})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object of image ids, got {type(document).__name__}")
    allowed = set(image_ids) if image_ids is not None else None
    result: dict[str, dict[str, np.ndarray]] = {}
    for image_id in sorted(document):
        entry = document[image_id]
        if allowed is not None and image_id not in allowed:
            example = f" (e.g. {min(allowed)!r})" if allowed else ""
            raise ValueError(f"{path}: unknown image id {image_id!r}: not among the {len(allowed)} images "
                             f"of the split{example}")
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: image {image_id!r}: expected an object of pathologies, got {_brief(entry)}")
        _check_pathologies(entry, f"{path}: image {image_id!r}")
        missing = [name for name in pathologies if name not in entry]
        if missing:
            raise ValueError(f"{path}: image {image_id!r} has no mask for {', '.join(missing)} (CheXlocalize "
                             f"stores one per pathology, all-zero where a finding is absent)")
        expected = shape.get(image_id) if isinstance(shape, Mapping) else shape
        masks: dict[str, np.ndarray] = {}
        for pathology in entry:
            where = f"{path}: image {image_id!r}, {pathology}"
            decoded = decode_rle(entry[pathology], where=where)  # every entry is checked, kept or not
            if expected is not None and decoded.shape != tuple(expected):
                raise ValueError(f"{where}: mask is {decoded.shape[0]}x{decoded.shape[1]}, "
                                 f"expected {expected[0]}x{expected[1]}")
            if pathology in pathologies:
                masks[pathology] = transform(decoded) if transform is not None else decoded
        result[image_id] = {name: masks[name] for name in pathologies}
    return result


def read_rsna_boxes(path: str | os.PathLike[str], *, image_ids: Collection[str] | None = None,
                    ) -> dict[str, np.ndarray]:
    """Read RSNA Pneumonia's box CSV: ``{patientId: float64 [k, 4] (x, y, width, height)}``, ``k = 0`` for an
    image without a box (Target 0). ValueError naming the file and line for a missing column, an unknown
    patientId (not among ``image_ids``, if given), Target other than 0/1, a Target-1 row without a box of positive
    size, a Target-0 row with one, or an image with both kinds of row."""
    path = Path(path)
    boxes: dict[str, list[list[float]]] = {}
    negative: set[str] = set()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in RSNA_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(RSNA_COLUMNS)})")
        allowed = set(image_ids) if image_ids is not None else None
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            pid, target = row["patientId"], row["Target"].strip()
            if allowed is not None and pid not in allowed:
                raise ValueError(f"{where}: unknown patientId {pid!r}: not among the {len(allowed)} images")
            if target not in ("0", "1"):
                raise ValueError(f"{where}: Target must be 0 or 1, got {target!r}")
            cells = [row[c].strip() for c in ("x", "y", "width", "height")]
            if target == "0":
                if any(cells):
                    raise ValueError(f"{where}: a Target-0 row has no box, got {','.join(cells)}")
                negative.add(pid)
                boxes.setdefault(pid, [])
            else:
                try:
                    box = [float(c) for c in cells]
                except ValueError:
                    raise ValueError(f"{where}: a Target-1 row needs numeric x,y,width,height, "
                                     f"got {','.join(cells)}") from None
                if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
                    raise ValueError(f"{where}: box {box} must be finite with positive width and height")
                boxes.setdefault(pid, []).append(box)
            if pid in negative and boxes[pid]:
                raise ValueError(f"{where}: patientId {pid!r} has both a Target-0 row and boxes")
    return {pid: np.array(boxes[pid], dtype=np.float64).reshape(-1, 4) for pid in sorted(boxes)}


def boxes_to_mask(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """bool [height, width], True inside any box of ``boxes`` [k, 4] (x, y, width, height; pixel coordinates,
    clipped to the image). A pixel is inside when its centre is: pixel (r, c) spans [c, c+1) × [r, r+1)."""
    height, width = shape
    mask = np.zeros((height, width), dtype=bool)
    for x, y, w, h in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        c0, c1 = max(0, math.ceil(x - 0.5)), min(width, math.ceil(x + w - 0.5))
        r0, r1 = max(0, math.ceil(y - 0.5)), min(height, math.ceil(y + h - 0.5))
        mask[r0:r1, c0:c1] = True
    return mask
