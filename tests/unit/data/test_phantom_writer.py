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

TEST_HEADER = ("Path,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,"
               "Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices")
READERS_HEADER = "reader,pathology,fpr,tpr"
TEST_FILES = ("test_labels.csv", "phantom_radiologists.csv", "gt_segmentations_test.json", "test/")

TINY = dict(pretrain_studies=14, eval_train_studies=8, eval_valid_studies=5, eval_test_studies=7, image_size=64,
            lateral_fraction=0.5)


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
    assert header(chexpert / "test_labels.csv") == TEST_HEADER


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


# --- the test split and its simulated readers ---------------------------------------------------------------------


def without_test(tree_digest: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tree_digest.items() if not k.startswith(TEST_FILES)}


def read_readers(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# ") and lines[1] == READERS_HEADER
    return list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))


def test_test_split_is_frontal_only_one_patient_per_study_with_truth_labels(trees):
    _, chexpert = trees
    test = read_csv(chexpert / "test_labels.csv")
    assert [r["Path"] for r in test] == [f"test/patient{64741 + i}/study1/view1_frontal.jpg" for i in range(7)]
    observations = TEST_HEADER.split(",")[1:]
    assert {row[c] for row in test for c in observations} <= {"1.0", "0.0"}
    assert sorted(p.name for p in (chexpert / "test").rglob("*") if p.is_file()) == \
        sorted(["view1_frontal.jpg", "view1_frontal.masks.npz"] * 7)
    for row in test:
        masks = np.load((chexpert / row["Path"]).with_suffix(".masks.npz"))
        assert all(row[key.split("|")[0]] == "1.0" for key in masks.files)  # a drawn finding is true


def test_adding_or_resizing_the_test_split_leaves_train_and_valid_byte_identical(trees, tmp_path):
    _, chexpert = trees
    none = tmp_path / "none" / "CheXpert-v1.0-small"
    counts = generate_phantom(PhantomConfig(**{**TINY, "eval_test_studies": 0}), None, none)
    assert digest(none) == without_test(digest(chexpert))
    assert not (none / "test_labels.csv").exists() and not (none / "phantom_radiologists.csv").exists()
    assert counts["chexpert_test_studies"] == 0 and "chexpert_test_reader_rows" not in counts
    more = tmp_path / "more" / "CheXpert-v1.0-small"
    generate_phantom(PhantomConfig(**{**TINY, "eval_test_studies": 9}), None, more)
    assert without_test(digest(more)) == without_test(digest(chexpert))
    first = {k: v for k, v in digest(chexpert).items() if k.startswith("test/")}
    assert {k: v for k, v in digest(more).items() if k in first} == first  # the first 7 test studies too


def test_a_500_study_test_split_has_the_real_sets_patient_ids(tmp_path):
    cfg = PhantomConfig(eval_train_studies=1, eval_valid_studies=1, eval_test_studies=500, image_size=32)
    tree = tmp_path / "CheXpert-v1.0-small"
    counts = generate_phantom(cfg, None, tree, threads=2)
    test = read_csv(tree / "test_labels.csv")
    assert [r["Path"].split("/")[1] for r in test] == [f"patient{n}" for n in range(64741, 65241)]
    assert counts["chexpert_test_images"] == counts["chexpert_test_studies"] == 500
    assert all((tree / r["Path"]).is_file() for r in test)


def test_test_patients_start_after_the_last_eval_patient_when_those_reach_64741(tmp_path, monkeypatch):
    import igcl.data.phantom.writer as writer

    monkeypatch.setattr(writer, "TEST_FIRST_PATIENT", 2)  # as if train and valid had 64,740+ patients
    tree = tmp_path / "CheXpert-v1.0-small"
    generate_phantom(PhantomConfig(**TINY), None, tree)
    eval_patients = {r["Path"].split("/")[2] for name in ("train.csv", "valid.csv") for r in read_csv(tree / name)}
    last = max(int(p.removeprefix("patient")) for p in eval_patients)
    assert [r["Path"].split("/")[1] for r in read_csv(tree / "test_labels.csv")] == \
        [f"patient{last + 1 + i:05d}" for i in range(7)]


def test_readers_csv_holds_the_rates_their_reads_achieve_against_the_written_labels(trees):
    from igcl.data.phantom.readers import operating_points, simulate_reads
    from igcl.labels import COMPETITION_PATHOLOGIES

    _, chexpert = trees
    rows = read_readers(chexpert / "phantom_radiologists.csv")
    assert [(r["reader"], r["pathology"]) for r in rows] == \
        [(f"reader_{k}", p) for k in (1, 2, 3) for p in COMPETITION_PATHOLOGIES]
    truth = np.array([[float(r[p]) for p in COMPETITION_PATHOLOGIES] for r in read_csv(chexpert / "test_labels.csv")])
    points = operating_points(simulate_reads(TINY.get("seed", 0), truth), truth)
    for k, row in enumerate(rows):
        expected = points[k // 5, k % 5]
        for value, want in zip((row["fpr"], row["tpr"]), expected):
            if np.isnan(want):
                assert value == ""  # no negative (or positive) test image for this pathology
            else:
                assert 0.0 <= float(value) <= 1.0 and float(value) == pytest.approx(want, abs=5e-7)


def test_simulated_readers_are_plausible_radiologists_and_seeded():
    from igcl.data.phantom.readers import FPR_RANGE, TPR_RANGE, operating_points, simulate_reads

    truth = (np.random.default_rng(5).random((20000, 5)) < 0.3).astype(float)
    reads = simulate_reads(0, truth)
    assert reads.shape == (3, 5, 20000) and np.array_equal(reads, simulate_reads(0, truth))
    assert not np.array_equal(reads, simulate_reads(1, truth))
    assert np.array_equal(simulate_reads(0, truth[:50]), reads[:, :, :50])  # image i's read does not depend on N
    fpr, tpr = operating_points(reads, truth).transpose(2, 0, 1)
    assert (fpr > FPR_RANGE[0] - 0.02).all() and (fpr < FPR_RANGE[1] + 0.02).all()
    assert (tpr > TPR_RANGE[0] - 0.02).all() and (tpr < TPR_RANGE[1] + 0.02).all()
    none_positive = operating_points(simulate_reads(0, np.zeros((4, 5))), np.zeros((4, 5)))
    assert np.isnan(none_positive[..., 1]).all() and not np.isnan(none_positive[..., 0]).any()
