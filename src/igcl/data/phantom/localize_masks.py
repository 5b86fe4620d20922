"""The phantom's CheXpert test-split lesion masks as one CheXlocalize JSON (:mod:`igcl.localize.masks`).

Reads ``test_labels.csv`` and, beside each image it lists, ``<stem>.masks.npz`` (arrays keyed
``Observation|location``); merges each pathology's masks over its locations (logical or); writes
``<tree>/gt_segmentations_test.json`` with CheXlocalize's image ids (``patient64741_study1_view1_frontal``) and one
mask per pathology per image, all-zero where the image does not show it, as CheXlocalize stores them. Only the
competition pathologies, whose names CheXpert and CheXlocalize share. Keys are sorted, so the bytes depend only on
the masks, whatever order or number of processes wrote them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from igcl.data.columns import CHEXPERT_TEST_CSV
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.localize.masks import CHEXLOCALIZE_TEST_JSON, chexlocalize_image_id, write_chexlocalize_json


def merged_masks(npz_path: Path, shape: tuple[int, int], pathologies: Sequence[str]) -> dict[str, np.ndarray]:
    """``{pathology: bool [h, w]}`` from one ``.masks.npz``: the or of its ``pathology|location`` arrays."""
    merged = {name: np.zeros(shape, dtype=bool) for name in pathologies}
    with np.load(npz_path) as archive:
        for key in archive.files:
            observation = key.split("|", 1)[0]
            if observation in merged:
                mask = archive[key]
                if mask.shape != shape:
                    raise ValueError(f"{npz_path}: {key} is {mask.shape}, the image is {shape}")
                merged[observation] |= mask.astype(bool)
    return merged


def write_test_segmentations(chexpert_root: str | os.PathLike[str],
                             pathologies: Sequence[str] = COMPETITION_PATHOLOGIES) -> int:
    """Write ``<chexpert_root>/gt_segmentations_test.json`` from the test split's ``.masks.npz`` files; returns
    the number of images in it (one per row of ``test_labels.csv``)."""
    root = Path(chexpert_root)
    with open(root / CHEXPERT_TEST_CSV, newline="", encoding="utf-8") as handle:
        paths = [row["Path"] for row in csv.DictReader(handle)]
    masks = {}
    for relative in paths:
        image = root / relative
        with Image.open(image) as jpeg:  # reads the header only
            width, height = jpeg.size
        masks[chexlocalize_image_id(relative)] = merged_masks(image.with_suffix(".masks.npz"), (height, width),
                                                             pathologies)
    write_chexlocalize_json(masks, root / CHEXLOCALIZE_TEST_JSON)
    return len(masks)
