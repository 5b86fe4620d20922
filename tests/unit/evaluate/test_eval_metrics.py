"""AUROC and its bootstrap CI: against sklearn, a hand-made case, explicit resamples, and CI coverage."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from igcl.evaluate.metrics import (auroc, bootstrap_auroc, bootstrap_counts, percentile_ci, score_pathologies,
                                   weighted_auroc)


def test_hand_made_auroc_is_three_quarters():
    # pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert auroc(y, s) == 0.75
    assert weighted_auroc(y, s, np.ones((1, 4)))[0] == 0.75
    # a tie between a positive and a negative counts one half
    assert weighted_auroc(np.array([0, 1]), np.array([0.5, 0.5]), np.ones((1, 2)))[0] == 0.5


def test_weighted_auroc_matches_sklearn_on_explicit_resamples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.normal(size=80) + y, 1)  # rounding makes ties
    assert weighted_auroc(y, s, np.ones((1, 80)))[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    draws = rng.integers(0, 80, (20, 80))
    counts = np.stack([np.bincount(d, minlength=80) for d in draws])
    got = weighted_auroc(y, s, counts)
    want = [roc_auc_score(y[d], s[d]) for d in draws]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_bootstrap_counts_are_resamples_and_seeded():
    a = bootstrap_counts(30, 50, np.random.default_rng(1))
    b = bootstrap_counts(30, 50, np.random.default_rng(1))
    assert a.shape == (50, 30) and (a.sum(axis=1) == 30).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, bootstrap_counts(30, 50, np.random.default_rng(2)))


def test_resamples_without_both_classes_are_skipped_and_counted():
    y = np.array([1, 0, 0, 0, 0])
    s = np.array([0.9, 0.1, 0.2, 0.3, 0.4])
    est = bootstrap_auroc(y, s, n_bootstrap=400, level=0.95, rng=np.random.default_rng(5))
    counts = bootstrap_counts(5, 400, np.random.default_rng(5))
    expected_skipped = int(((counts[:, 0] == 0) | (counts[:, 1:].sum(axis=1) == 0)).sum())
    assert expected_skipped > 50  # (4/5)^5 ≈ 33 % of resamples lack the positive
    assert est.skipped == expected_skipped
    assert est.auroc == 1.0 and est.ci_low == est.ci_high == 1.0
    assert (est.n_pos, est.n) == (1, 5)


def test_percentile_ci_of_known_values():
    low, high, skipped = percentile_ci(np.r_[np.arange(101.0), np.nan], 0.9)
    assert (low, high, skipped) == (pytest.approx(5.0), pytest.approx(95.0), 1)


def test_ci_covers_the_true_auroc_of_binormal_scores():
    """Negatives N(0,1), positives N(d,1): AUROC = Φ(d/√2). Over 200 simulated test sets the 95 % CI should
    cover it about 95 % of the time (percentile bootstrap runs a little narrow on small sets)."""
    d = 1.0
    true_auc = 0.5 * (1 + math.erf(d / 2))  # Φ(d/√2) = ½(1 + erf(d/2))
    rng = np.random.default_rng(2024)
    covered = 0
    for _ in range(200):
        y = np.r_[np.ones(60), np.zeros(60)]
        s = np.r_[rng.normal(d, 1, 60), rng.normal(0, 1, 60)]
        est = bootstrap_auroc(y, s, n_bootstrap=200, level=0.95, rng=rng)
        covered += est.ci_low <= true_auc <= est.ci_high
    assert 0.88 <= covered / 200 <= 0.99, covered


def test_score_pathologies_mean_and_missing_classes():
    rng = np.random.default_rng(3)
    n = 60
    targets = rng.integers(0, 2, (n, 3)).astype(np.float32)
    targets[:5, 1] = np.nan                      # ignored rows for pathology b
    targets[:, 2] = 0.0                          # pathology c: no test positive
    scores = targets + rng.normal(0, 0.8, (n, 3))
    rows = score_pathologies(targets, scores, ("a", "b", "c"), n_bootstrap=300, level=0.95,
                             rng=np.random.default_rng(0))
    by = {r["pathology"]: r for r in rows}
    assert by["a"]["auroc"] == pytest.approx(roc_auc_score(targets[:, 0], scores[:, 0]))
    usable = ~np.isnan(targets[:, 1])
    assert by["b"]["auroc"] == pytest.approx(roc_auc_score(targets[usable, 1], scores[usable, 1]))
    assert by["b"]["n"] == n - 5 and by["b"]["n_pos"] == int(np.nansum(targets[:, 1]))
    assert math.isnan(by["c"]["auroc"]) and "lacks a positive" in by["c"]["status"]
    assert by["mean"]["auroc"] == pytest.approx((by["a"]["auroc"] + by["b"]["auroc"]) / 2)
    assert by["mean"]["status"] == "partial 2/3"
    assert by["mean"]["ci_low"] < by["mean"]["auroc"] < by["mean"]["ci_high"]
    # the mean's interval is narrower than either pathology's (averaging two noisy AUROCs)
    width = lambda r: r["ci_high"] - r["ci_low"]  # noqa: E731
    assert width(by["mean"]) < max(width(by["a"]), width(by["b"]))
    # no classifier for a pathology: a NaN score column
    scores[:, 0] = np.nan
    rows = score_pathologies(targets, scores, ("a", "b", "c"), n_bootstrap=50, level=0.95,
                             rng=np.random.default_rng(0))
    assert rows[0]["status"].startswith("no classifier") and rows[-1]["status"] == "partial 1/3"
