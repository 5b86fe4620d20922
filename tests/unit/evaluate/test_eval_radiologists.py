"""Reader CSVs (the shipped published one and bad ones) and the model-vs-reader sensitivity at the reader's FPR."""

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from igcl.evaluate.radiologists import (compare_with_readers, read_readers, roc_points, sensitivity_at,
                                        shipped_chexpert_test_readers)
from igcl.labels import COMPETITION_PATHOLOGIES


def test_the_shipped_chexpert_test_readers_name_their_source():
    readers = read_readers(shipped_chexpert_test_readers())
    assert len(readers.points) == 3 * 5
    assert {p.pathology for p in readers.points} == set(COMPETITION_PATHOLOGIES)
    assert "rajpurkarlab/IGCL" in readers.source
    edema = {p.reader: (p.fpr, p.tpr) for p in readers.points if p.pathology == "Edema"}
    assert edema["radiologist_2"] == pytest.approx((0.187204, 0.794872))


@pytest.mark.parametrize("body, message", [
    ("reader,pathology,fpr,tpr\nr1,Pneumonia,0.1,0.5\n", r"line 2: unknown pathology 'Pneumonia'; known: Atelectasis"),
    ("reader,pathology,tpr,fpr\nr1,Edema,0.1,0.5\n", r"line 1: header \['reader', 'pathology', 'tpr', 'fpr'\]"),
    ("# a comment\nreader,pathology,fpr,tpr\nr1,Edema,1.5,0.5\n", "line 3: fpr 1.5 is not a rate"),
    ("reader,pathology,fpr,tpr\nr1,Edema,x,0.5\n", "line 2: fpr 'x' is not a number"),
    ("reader,pathology,fpr,tpr\nr1,Edema,0.1,0.5\nr1,Edema,0.2,0.6\n", "line 3: reader 'r1' has a second row"),
    ("reader,pathology,fpr,tpr\nr1,Edema,0.1\n", "line 2: 3 fields"),
    ("reader,pathology,fpr,tpr\n", "header only"),
])
def test_a_bad_reader_file_is_a_clear_error(tmp_path, body, message):
    path = tmp_path / "readers.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as err:
        read_readers(path)
    assert str(path) in str(err.value)


def test_a_blank_operating_point_is_left_out_but_half_a_point_is_an_error(tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("reader,pathology,fpr,tpr\nr1,Edema,,\nr1,Cardiomegaly,0.1,0.5\n")
    assert [p.pathology for p in read_readers(path).points] == ["Cardiomegaly"]
    path.write_text("reader,pathology,fpr,tpr\nr1,Edema,0.1,\n")
    with pytest.raises(ValueError, match="line 2: tpr '' is not a number"):
        read_readers(path)


def test_a_missing_reader_file_names_the_key(tmp_path):
    with pytest.raises(ValueError, match="no such radiologist file"):
        read_readers(tmp_path / "absent.csv")


def test_sensitivity_at_matches_sklearn_roc_interpolation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = labels + rng.normal(0, 1.0, 200)
    fpr, tpr = roc_points(labels, scores, np.ones((1, 200)))
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    for x in (0.0, 0.05, 0.1, 0.33, 0.7, 1.0):
        # sklearn's curve, interpolated the same way (top of each vertical step)
        keep = np.r_[ref_fpr[1:] != ref_fpr[:-1], True]
        assert sensitivity_at(fpr[0], tpr[0], x) == pytest.approx(np.interp(x, ref_fpr[keep], ref_tpr[keep]))


def test_a_perfect_model_beats_every_reader_by_one_minus_their_sensitivity(tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("reader,pathology,fpr,tpr\nr1,Edema,0.1,0.6\nr2,Edema,0.0,0.3\nr1,Cardiomegaly,0.2,0.5\n")
    readers = read_readers(path)
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 2, (100, 5)).astype(float)
    scores = targets.copy()  # separates the classes perfectly: TPR 1 at FPR 0
    rows = compare_with_readers(readers, targets, scores, COMPETITION_PATHOLOGIES, n_bootstrap=50, level=0.95,
                                rng=rng)
    assert [r["diff"] for r in rows] == pytest.approx([0.4, 0.7, 0.5])
    assert all(r["ci_low"] == pytest.approx(r["diff"]) == pytest.approx(r["ci_high"]) for r in rows)


def test_a_random_model_is_not_separable_from_a_reader_on_the_diagonal(tmp_path):
    path = tmp_path / "readers.csv"
    path.write_text("reader,pathology,fpr,tpr\nr1,Edema,0.3,0.3\n")
    rng = np.random.default_rng(2)
    targets = rng.integers(0, 2, (400, 5)).astype(float)
    rows = compare_with_readers(read_readers(path), targets, rng.random((400, 5)), COMPETITION_PATHOLOGIES,
                                n_bootstrap=200, level=0.95, rng=rng)
    assert rows[0]["ci_low"] < 0 < rows[0]["ci_high"] and rows[0]["status"] == "ok"
