"""The phantom trees: official layouts and headers, byte-identical for a seed, consistent files."""

import csv
import gzip
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from igcl.data.phantom import PhantomConfig, generate_phantom

# The official column lists, written out here on purpose (not imported from igcl.data.columns).
METADATA_HEADER = ("dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,"
                   "StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,"
                   "PatientOrientationCodeSequence_CodeMeaning")
SPLIT_HEADER = "dicom_id,study_id,subject_id,split"
MIMIC_CHEXPERT_HEADER = ("subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,"
                         "Fracture,Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,"
                         "Pneumothorax,Support Devices")
CHEXPERT_HEADER = ("Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,"
                   "Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,"
                   "Fracture,Support Devices")

TINY = dict(pretrain_studies=14, eval_train_studies=8, eval_valid_studies=5, image_size=64, lateral_fraction=0.5)


def make(root: Path, threads: int = 1, **overrides) -> tuple[Path, Path]:
    cfg = PhantomConfig(**{**TINY, **overrides})
    mimic, chexpert = root / "mimic-cxr-jpg", root / "CheXpert-v1.0-small"
    generate_phantom(cfg, mimic, chexpert, threads=threads)
    return mimic, chexpert


def digest(tree: Path) -> dict[str, str]:
    return {str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tree.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return list(csv.DictReader(io.StringIO(raw)))


def header(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return raw.splitlines()[0]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    return make(tmp_path_factory.mktemp("run1"))


def test_same_seed_is_byte_identical_for_any_threads_and_other_seed_differs(trees, tmp_path, monkeypatch):
    import igcl.data.phantom.writer as writer

    monkeypatch.setattr(writer, "WINDOW", 4)  # several windows of in-flight studies, results still in order
    mimic, chexpert = trees
    again = make(tmp_path / "again", threads=2)
    assert digest(mimic) == digest(again[0])
    assert digest(chexpert) == digest(again[1])
    other = make(tmp_path / "other", seed=1)
    a, b = digest(mimic), digest(other[0])
    assert a["mimic-cxr-2.0.0-metadata.csv.gz"] != b["mimic-cxr-2.0.0-metadata.csv.gz"]
    assert digest(chexpert)["train.csv"] != digest(other[1])["train.csv"]


def test_each_tree_alone_equals_the_pair_and_ignores_the_other_trees_settings(trees, tmp_path):
    """The phantom rule writes each tree in its own job and leaves the other tree's keys out of that job's
    params: a tree must not depend on them, or a rerun would silently differ from a full run."""
    mimic, chexpert = trees
    cfg = PhantomConfig(**TINY)
    alone = tmp_path / "alone"
    counts = generate_phantom(cfg, alone / "mimic-cxr-jpg", None)
    assert digest(alone / "mimic-cxr-jpg") == digest(mimic) and not (alone / "CheXpert-v1.0-small").exists()
    assert set(counts) == {"mimic_studies", "mimic_images", "mimic_subjects"}
    counts = generate_phantom(cfg, None, alone / "CheXpert-v1.0-small", threads=2)
    assert digest(alone / "CheXpert-v1.0-small") == digest(chexpert)
    assert all(key.startswith("chexpert_") for key in counts)
    other_eval = PhantomConfig(**{**TINY, "eval_train_studies": 3, "eval_valid_studies": 9})
    generate_phantom(other_eval, tmp_path / "m2" / "mimic-cxr-jpg", None)
    assert digest(tmp_path / "m2" / "mimic-cxr-jpg") == digest(mimic)
    other_mimic = PhantomConfig(**{**TINY, "pretrain_studies": 5, "train_fraction": 0.5, "validate_fraction": 0.2,
                                   "test_fraction": 0.3})
    generate_phantom(other_mimic, None, tmp_path / "c2" / "CheXpert-v1.0-small")  # CSV paths start with the name
    assert digest(tmp_path / "c2" / "CheXpert-v1.0-small") == digest(chexpert)
    with pytest.raises(ValueError, match="mimic_out, chexpert_out or both"):
        generate_phantom(cfg, None, None)


def test_headers_are_the_official_ones(trees):
    mimic, chexpert = trees
    assert header(mimic / "mimic-cxr-2.0.0-metadata.csv.gz") == METADATA_HEADER
    assert header(mimic / "mimic-cxr-2.0.0-split.csv.gz") == SPLIT_HEADER
    assert header(mimic / "mimic-cxr-2.0.0-chexpert.csv.gz") == MIMIC_CHEXPERT_HEADER
    assert header(chexpert / "train.csv") == CHEXPERT_HEADER
    assert header(chexpert / "valid.csv") == CHEXPERT_HEADER


def test_mimic_tree_layout_ids_and_reports(trees):
    mimic, _ = trees
    meta = read_csv(mimic / "mimic-cxr-2.0.0-metadata.csv.gz")
    split = read_csv(mimic / "mimic-cxr-2.0.0-split.csv.gz")
    labels = read_csv(mimic / "mimic-cxr-2.0.0-chexpert.csv.gz")
    assert len(labels) == TINY["pretrain_studies"]
    assert [r["dicom_id"] for r in meta] == [r["dicom_id"] for r in split]
    assert len({r["dicom_id"] for r in meta}) == len(meta)
    assert len({r["study_id"] for r in labels}) == len(labels)
    assert {r["study_id"] for r in meta} == {r["study_id"] for r in labels}
    assert {r["split"] for r in split} <= {"train", "validate", "test"}
    for row in meta:
        assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}", row["dicom_id"])
        assert re.fullmatch(r"1\d{7}", row["subject_id"]) and re.fullmatch(r"5\d{7}", row["study_id"])
        assert row["ViewPosition"] in ("PA", "AP", "LATERAL") and row["Rows"] == "64"
        assert re.fullmatch(r"2\d{7}", row["StudyDate"])
        sid, study = row["subject_id"], row["study_id"]
        image = mimic / "files" / f"p{sid[:2]}" / f"p{sid}" / f"s{study}" / f"{row['dicom_id']}.jpg"
        assert image.is_file() and image.with_name(f"{row['dicom_id']}.masks.npz").is_file()
    for row in labels:
        sid = row["subject_id"]
        report = mimic / "files" / f"p{sid[:2]}" / f"p{sid}" / f"s{row['study_id']}.txt"
        assert "FINAL REPORT" in report.read_text()
        assert {row[c] for c in MIMIC_CHEXPERT_HEADER.split(",")[2:]} <= {"1.0", "0.0", "-1.0", ""}
    # a subject's split is the same for all its images
    by_subject = {}
    for row in split:
        by_subject.setdefault(row["subject_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in by_subject.values())


def test_chexpert_tree_paths_exist_and_labels_are_official_values(trees):
    _, chexpert = trees
    train, valid = read_csv(chexpert / "train.csv"), read_csv(chexpert / "valid.csv")
    observations = CHEXPERT_HEADER.split(",")[5:]
    for rows, split in ((train, "train"), (valid, "valid")):
        for row in rows:
            assert re.fullmatch(rf"CheXpert-v1.0-small/{split}/patient\d{{5}}/study\d+/view\d_(frontal|lateral).jpg",
                                row["Path"])
            assert (chexpert.parent / row["Path"]).is_file()
            frontal = row["Frontal/Lateral"] == "Frontal"
            assert row["Path"].endswith("frontal.jpg") == frontal
            assert row["AP/PA"] in (("AP", "PA") if frontal else ("",))
            assert row["Sex"] in ("Male", "Female") and 18 <= int(row["Age"]) <= 99
    assert {row[c] for row in train for c in observations} <= {"1.0", "0.0", "-1.0", ""}
    assert {row[c] for row in valid for c in observations} <= {"1.0", "0.0"}  # consensus truth, like CheXpert
    train_patients = {r["Path"].split("/")[2] for r in train}
    valid_patients = {r["Path"].split("/")[2] for r in valid}
    assert not train_patients & valid_patients
    assert len({r["Path"] for r in train + valid}) == len(train) + len(valid)


def test_masks_are_boolean_arrays_keyed_by_finding(trees):
    _, chexpert = trees
    valid = read_csv(chexpert / "valid.csv")
    seen = 0
    for row in valid:
        masks = np.load((chexpert.parent / row["Path"]).with_suffix(".masks.npz"))
        for key in masks.files:
            observation = key.split("|")[0]
            assert masks[key].dtype == bool and masks[key].shape == (64, 64)
            if row["Frontal/Lateral"] == "Frontal":
                assert row[observation] == "1.0", (row["Path"], key)  # a drawn finding is true in valid.csv
            seen += 1
    assert seen > 0


def test_failed_generation_leaves_no_tree(tmp_path, monkeypatch):
    import igcl.data.phantom.writer as writer

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "render", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        make(tmp_path)
    assert list(tmp_path.iterdir()) == []
