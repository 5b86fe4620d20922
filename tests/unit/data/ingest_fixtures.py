"""Hand-made MIMIC-CXR-JPG and CheXpert trees for the ingest tests (official file names, columns and layouts).

Every value the tests assert on is written here explicitly, so a test can state the manifest it expects row by row.
Helpers rewrite one CSV afterwards (:func:`edit_csv`) to make each kind of bad input.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from igcl.data.columns import (
    CHEXPERT_COLUMNS,
    MIMIC_CHEXPERT_COLUMNS,
    MIMIC_CHEXPERT_CSV,
    MIMIC_METADATA_COLUMNS,
    MIMIC_METADATA_CSV,
    MIMIC_SPLIT_COLUMNS,
    MIMIC_SPLIT_CSV,
)
from igcl.labels import CHEXPERT_OBSERVATIONS


@dataclass(frozen=True)
class MimicImage:
    dicom_id: str
    subject_id: int
    study_id: int
    view_position: str  # as written in the metadata CSV
    split: str


# Metadata CSV rows in this order (line = index + 2). Covers: two subject prefixes (p10, p11), a lateral written
# LL, a view to keep upper-cased (AP AXIAL, lower-case in the CSV), a blank ViewPosition, every split.
MIMIC_IMAGES: tuple[MimicImage, ...] = (
    MimicImage("02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", 10000032, 50414267, "PA", "train"),
    MimicImage("174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", 10000032, 50414267, "LATERAL", "train"),
    MimicImage("2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab", 10000032, 53189527, "AP", "train"),
    MimicImage("68b5c4b1-227d0485-9cc38c3f-7b84ab51-4b472714", 10000764, 57375967, "ap", "validate"),
    MimicImage("096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4", 10000764, 57375967, "LL", "validate"),
    MimicImage("8959e402-2175d68d-edba5a6c-520b0bb1-ed5f1098", 10000764, 57375967, "ap axial", "validate"),
    MimicImage("fffabebf-74fd3a1f-673b6b41-96ec0ac9-2ab69818", 10000764, 57375967, "", "validate"),
    MimicImage("ea030e7a-2e3b1346-bc518786-7a8fd698-f673b44c", 11000011, 51234567, "PA", "test"),
)
# mimic-cxr-2.0.0-chexpert.csv.gz rows: study 53189527 is deliberately absent (its labels must be all null).
MIMIC_LABELS: dict[tuple[int, int], dict[str, str]] = {
    (10000032, 50414267): {"No Finding": "1.0"},
    (10000764, 57375967): {"Cardiomegaly": "1.0", "Edema": "-1.0", "Pleural Effusion": "0.0",
                           "Support Devices": "1.0"},
    (11000011, 51234567): {"Atelectasis": "-1.0", "Lung Opacity": "1.0", "Pneumothorax": "0.0"},
}


@dataclass(frozen=True)
class ChexpertImage:
    path: str  # the CSV's Path, relative to the root's parent
    frontal_lateral: str
    ap_pa: str
    labels: dict[str, str]


CHEXPERT_ROOT_NAME = "CheXpert-v1.0-small"
CHEXPERT_TRAIN: tuple[ChexpertImage, ...] = (
    ChexpertImage("CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg", "Frontal", "PA",
                  {"Cardiomegaly": "1.0", "Pleural Effusion": "-1.0", "Support Devices": "0.0"}),
    ChexpertImage("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg", "Frontal", "AP",
                  {"No Finding": "1.0"}),
    ChexpertImage("CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg", "Lateral", "",
                  {"Cardiomegaly": "1.0", "Pleural Effusion": "-1.0", "Support Devices": "0.0"}),
    ChexpertImage("CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg", "Frontal", "LL",
                  {"Edema": "0.0"}),
    ChexpertImage("CheXpert-v1.0-small/train/patient00004/study1/view1_frontal.jpg", "Frontal", "RL",
                  {"Edema": "1.0"}),
)
# valid.csv writes every label (no blanks), as the real one does.
CHEXPERT_VALID: tuple[ChexpertImage, ...] = (
    ChexpertImage("CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg", "Frontal", "AP",
                  {name: ("1.0" if name in ("Cardiomegaly", "Lung Opacity") else "0.0")
                   for name in CHEXPERT_OBSERVATIONS}),
)


def write_jpeg(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), color=seed % 256).save(path, format="JPEG", quality=90)


def write_csv(path: Path, columns: tuple[str, ...] | list[str], rows: list[list[str]]) -> None:
    """A CSV as the official files write it (gzip-compressed when the name ends in .gz)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


def edit_csv(path: Path, edit: Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]]) -> None:
    """Rewrite a CSV through ``edit(header, rows) -> (header, rows)``."""
    header, rows = read_csv_rows(path)
    write_csv(path, *edit(header, rows))


def mimic_study_dir(image: MimicImage) -> str:
    subject = str(image.subject_id)
    return f"files/p{subject[:2]}/p{subject}/s{image.study_id}"


def write_mimic_tree(root: Path, reports_root: Path | None = None) -> Path:
    """The MIMIC-CXR-JPG tree of MIMIC_IMAGES / MIMIC_LABELS under ``root``; reports under ``reports_root`` (or
    ``root``). Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    reports_root = root if reports_root is None else reports_root
    metadata = []
    for i, image in enumerate(MIMIC_IMAGES):
        values = {"dicom_id": image.dicom_id, "subject_id": str(image.subject_id), "study_id": str(image.study_id),
                  "PerformedProcedureStepDescription": "CHEST (PA AND LAT)", "ViewPosition": image.view_position,
                  "Rows": "3056", "Columns": "2544", "StudyDate": "21800506", "StudyTime": "213014.531",
                  "ProcedureCodeSequence_CodeMeaning": "CHEST (PA AND LAT)",
                  "ViewCodeSequence_CodeMeaning": "postero-anterior",
                  "PatientOrientationCodeSequence_CodeMeaning": "Erect"}
        metadata.append([values[c] for c in MIMIC_METADATA_COLUMNS])
        write_jpeg(root / mimic_study_dir(image) / f"{image.dicom_id}.jpg", seed=i * 30)
        report = reports_root / f"{mimic_study_dir(image)}.txt"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(f"FINDINGS: study {image.study_id}.\nIMPRESSION: none.\n")
    write_csv(root / MIMIC_METADATA_CSV, MIMIC_METADATA_COLUMNS, metadata)
    write_csv(root / MIMIC_SPLIT_CSV, MIMIC_SPLIT_COLUMNS,
              [[im.dicom_id, str(im.study_id), str(im.subject_id), im.split] for im in MIMIC_IMAGES])
    write_csv(root / MIMIC_CHEXPERT_CSV, MIMIC_CHEXPERT_COLUMNS,
              [[str(subject), str(study)] + [labels.get(name, "") for name in MIMIC_CHEXPERT_COLUMNS[2:]]
               for (subject, study), labels in MIMIC_LABELS.items()])
    return root


def write_chexpert_tree(root: Path) -> Path:
    """The CheXpert tree of CHEXPERT_TRAIN / CHEXPERT_VALID at ``root`` (name it CHEXPERT_ROOT_NAME or not: the
    reader drops Path's first component whatever it is). Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, images in (("train.csv", CHEXPERT_TRAIN), ("valid.csv", CHEXPERT_VALID)):
        rows = []
        for i, image in enumerate(images):
            values = {"Path": image.path, "Sex": "Female", "Age": "68", "Frontal/Lateral": image.frontal_lateral,
                      "AP/PA": image.ap_pa, **image.labels}
            rows.append([values.get(c, "") for c in CHEXPERT_COLUMNS])
            write_jpeg(root / image.path.split("/", 1)[1], seed=i * 40)
        write_csv(root / name, CHEXPERT_COLUMNS, rows)
    return root


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder`` (a failed ingest must leave none: no manifest, sidecar or temp file)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
