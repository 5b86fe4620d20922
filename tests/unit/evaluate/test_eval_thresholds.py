"""Thresholds chosen on valid, metrics read on test: hand cases, sklearn recomputations, and no look at test."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef, recall_score

from igcl.evaluate.thresholds import (METRICS, choose_threshold, confusion_counts, metrics_from_counts,
                                      thresholded_rows)

PATHOLOGIES = ("A", "B")


def test_youden_and_f1_on_a_hand_made_case():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    # candidates (descending): 0.8 -> J 0.5, F1 2/3; 0.4 -> J 0, F1 1/2; 0.35 -> J 0.5, F1 0.8; 0.1 -> J 0, F1 2/3
    assert choose_threshold(labels, scores, "youden") == 0.8  # tie with 0.35: the higher threshold wins
    assert choose_threshold(labels, scores, "f1") == 0.35


def test_tied_scores_are_one_candidate():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.5, 0.5, 0.9, 0.1])
    # >= 0.9: tp 1 fp 0 (J 0.5); >= 0.5: tp 2 fp 1 (J 0.5); the tie goes to 0.9; 0.5 can't split the tied pair
    assert choose_threshold(labels, scores, "youden") == 0.9
    assert choose_threshold(labels, scores, "f1") == 0.5  # F1 0.8 vs 2/3


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="unknown threshold rule 'max'"):
        choose_threshold(np.array([0, 1]), np.array([0.1, 0.2]), "max")
    with pytest.raises(ValueError, match="needs both classes"):
        choose_threshold(np.array([1, 1]), np.array([0.1, 0.2]), "youden")


def test_metrics_match_sklearn_at_a_fixed_threshold():
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 2, 60).astype(bool)
        calls = rng.random(60) < 0.4
        got = metrics_from_counts(*confusion_counts(labels, calls, np.ones((1, 60))))
        assert got["mcc"][0] == pytest.approx(matthews_corrcoef(labels, calls))
        assert got["f1"][0] == pytest.approx(f1_score(labels, calls))
        assert got["sensitivity"][0] == pytest.approx(recall_score(labels, calls))
        assert got["specificity"][0] == pytest.approx(recall_score(~labels, ~calls))
    # no call made: MCC and F1 are 0, as sklearn defines them
    none = metrics_from_counts(*confusion_counts(np.array([1, 0, 1], bool), np.zeros(3, bool), np.ones((1, 3))))
    assert none["mcc"][0] == 0.0 and none["f1"][0] == 0.0 and none["sensitivity"][0] == 0.0


def _data(seed=0, n_valid=80, n_test=120):
    rng = np.random.default_rng(seed)
    valid_y = rng.integers(0, 2, (n_valid, 2)).astype(float)
    test_y = rng.integers(0, 2, (n_test, 2)).astype(float)
    valid_s = valid_y + rng.normal(0, 0.8, valid_y.shape)
    test_s = test_y + rng.normal(0, 0.8, test_y.shape)
    return valid_y, valid_s, test_y, test_s


def _rows(valid_y, valid_s, test_y, test_s, rule="youden", seed=0):
    return thresholded_rows(valid_y, valid_s, test_y, test_s, PATHOLOGIES, rule=rule, n_bootstrap=100, level=0.95,
                            rng=np.random.default_rng(seed))


def test_the_threshold_never_looks_at_test():
    valid_y, valid_s, test_y, test_s = _data()
    before = _rows(valid_y, valid_s, test_y, test_s)
    flipped = 1.0 - test_y  # other test labels, other test scores: the thresholds stay where valid put them
    after = _rows(valid_y, valid_s, flipped, test_s[::-1].copy())
    thresholds = {(r["pathology"], r["metric"]): r["threshold"] for r in before if r["pathology"] != "mean"}
    assert thresholds == {(r["pathology"], r["metric"]): r["threshold"] for r in after if r["pathology"] != "mean"}
    assert [r["value"] for r in before] != [r["value"] for r in after]
    for p in range(2):
        assert thresholds[(PATHOLOGIES[p], "mcc")] == choose_threshold(valid_y[:, p], valid_s[:, p], "youden")


def test_rows_recompute_with_sklearn_and_cis_bracket_the_point():
    valid_y, valid_s, test_y, test_s = _data(1)
    rows = _rows(valid_y, valid_s, test_y, test_s, rule="f1")
    assert len(rows) == (len(PATHOLOGIES) + 1) * len(METRICS)
    for p, name in enumerate(PATHOLOGIES):
        calls = test_s[:, p] >= choose_threshold(valid_y[:, p], valid_s[:, p], "f1")
        mine = {r["metric"]: r for r in rows if r["pathology"] == name}
        assert mine["mcc"]["value"] == pytest.approx(matthews_corrcoef(test_y[:, p], calls))
        assert mine["f1"]["value"] == pytest.approx(f1_score(test_y[:, p], calls))
        assert all(r["ci_low"] <= r["value"] <= r["ci_high"] and r["status"] == "ok" for r in mine.values())
    mean_mcc = next(r for r in rows if r["pathology"] == "mean" and r["metric"] == "mcc")
    assert mean_mcc["value"] == pytest.approx(np.mean([r["value"] for r in rows
                                                      if r["metric"] == "mcc" and r["pathology"] != "mean"]))


def test_a_valid_split_without_a_positive_gives_no_threshold():
    valid_y, valid_s, test_y, test_s = _data(2)
    valid_y[:, 1] = 0.0
    rows = _rows(valid_y, valid_s, test_y, test_s)
    b = [r for r in rows if r["pathology"] == "B"]
    assert all(np.isnan(r["value"]) and "no threshold" in r["status"] for r in b)
    assert next(r for r in rows if r["pathology"] == "mean")["status"] == "partial 1/2"
