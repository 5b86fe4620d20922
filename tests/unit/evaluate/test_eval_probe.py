"""Linear probe and few-shot tasks on synthetic features whose signal is known."""

import math

import numpy as np
import pytest

from igcl.evaluate.fewshot import run_few_shot
from igcl.evaluate.probe import (ProbeData, fit_probe_scores, fraction_subset_rng, probe_all_pathologies,
                                 run_linear_probe)
from igcl.evaluate.sampling import sample_fraction

PATHS = ("a", "b", "c")


def synthetic(n_train_patients=200, n_test=150, seed=0):
    """Features = targets (+ noise) in the first 3 dims, 13 noise dims; c has no signal at all."""
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.array([f"p{i}" for i in range(n_train_patients)], dtype=object), 2)

    def draw(n):
        y = (rng.random((n, 3)) < 0.35).astype(np.float32)
        x = rng.normal(size=(n, 16))
        x[:, :2] += 2.5 * y[:, :2]
        return x, y

    train_x, train_y = draw(len(patients))
    test_x, test_y = draw(n_test)
    return ProbeData(train_x=train_x, train_targets=train_y, train_patients=patients,
                     train_rows=np.arange(len(patients)), test_x=test_x, test_targets=test_y,
                     test_rows=np.arange(n_test), test_studies=np.array([f"s{i}" for i in range(n_test)], object),
                     pathologies=PATHS)


def test_fit_probe_separates_signal_from_noise():
    data = synthetic()
    scores = probe_all_pathologies(data.train_x, data.train_targets, data.test_x, C=1.0, max_iter=500)
    from sklearn.metrics import roc_auc_score
    aucs = [roc_auc_score(data.test_targets[:, p], scores[:, p]) for p in range(3)]
    assert aucs[0] > 0.9 and aucs[1] > 0.9 and 0.35 < aucs[2] < 0.65


def test_probe_without_a_class_gives_nan_column_and_fit_refuses():
    data = synthetic()
    targets = data.train_targets.copy()
    targets[:, 1] = 0.0
    scores = probe_all_pathologies(data.train_x, targets, data.test_x, C=1.0, max_iter=100)
    assert np.isnan(scores[:, 1]).all() and np.isfinite(scores[:, 0]).all()
    with pytest.raises(ValueError, match="needs both classes"):
        fit_probe_scores(data.train_x, targets[:, 1], data.test_x, C=1.0, max_iter=10)


def test_run_linear_probe_rows():
    data = synthetic()
    metrics, scores = run_linear_probe(data, method="m", fractions=(0.01, 1.0), seeds=(0, 1), C=1.0, max_iter=200,
                                       n_bootstrap=50, level=0.95)
    assert len(metrics) == 2 * 2 * 4  # fractions × seeds × (3 pathologies + mean)
    full = [r for r in metrics if r["fraction"] == 1.0 and r["seed"] == 0]
    assert [r["pathology"] for r in full] == ["a", "b", "c", "mean"]
    assert full[0]["auroc"] > 0.9 and full[0]["ci_low"] <= full[0]["auroc"] <= full[0]["ci_high"]
    assert full[-1]["n_train"] == len(data.train_x)
    one = [r for r in metrics if r["fraction"] == 0.01 and r["seed"] == 0]
    subset = sample_fraction(data.train_patients, data.train_targets, 0.01, fraction_subset_rng(0, 0.01), PATHS)
    assert one[-1]["n_train"] == len(subset.indices) < 20
    assert all(r["n_train_pos"] >= 1 for r in one[:-1])
    # score rows: test images × pathologies × settings, labels equal the targets
    assert len(scores) == 2 * 2 * 3 * len(data.test_x)
    first = [s for s in scores if s["fraction"] == 1.0 and s["seed"] == 0 and s["pathology"] == "a"]
    assert [s["label"] for s in first] == data.test_targets[:, 0].astype(int).tolist()


def test_run_few_shot_counts_and_learning():
    data = synthetic()
    metrics, scores = run_few_shot(data, method="m", ks=(1, 10), negatives_per_positive=1, seeds=(0,), C=1.0,
                                   max_iter=200, n_bootstrap=50, level=0.95)
    by = {(r["k"], r["pathology"]): r for r in metrics}
    for k in (1, 10):
        for p in PATHS:
            assert by[(k, p)]["n_train_pos"] == k and by[(k, p)]["n_train"] == 2 * k
        assert by[(k, "mean")]["n_train"] == 3 * 2 * k
    assert by[(10, "a")]["auroc"] > 0.8
    assert not math.isnan(by[(1, "mean")]["auroc"])
    assert {s["k"] for s in scores} == {1, 10} and not any("fraction" in s for s in scores)


def test_a_pathology_without_training_positives_is_reported_not_scored():
    """The documented rule: no positive anywhere in the pool → no probe, status says so, mean over the rest."""
    data = synthetic()
    targets = data.train_targets.copy()
    targets[:, 1] = 0.0
    data = ProbeData(**{**data.__dict__, "train_targets": targets})
    metrics, scores = run_linear_probe(data, method="m", fractions=(0.01,), seeds=(0,), C=1.0, max_iter=200,
                                       n_bootstrap=50, level=0.95)
    by = {r["pathology"]: r for r in metrics}
    assert math.isnan(by["b"]["auroc"]) and by["b"]["status"].startswith("no classifier")
    assert by["b"]["n_train_pos"] == 0
    assert by["mean"]["status"] == "partial 2/3"
    assert by["mean"]["auroc"] == pytest.approx((by["a"]["auroc"] + by["c"]["auroc"]) / 2)
    assert not any(s["pathology"] == "b" for s in scores)


def test_identical_subsets_are_fitted_once(monkeypatch):
    import igcl.evaluate.probe as probe

    calls = []
    real = probe.probe_all_pathologies
    monkeypatch.setattr(probe, "probe_all_pathologies", lambda *a, **k: calls.append(1) or real(*a, **k))
    metrics, _ = run_linear_probe(synthetic(), method="m", fractions=(0.1, 1.0), seeds=(0, 1, 2), C=1.0,
                                  max_iter=100, n_bootstrap=20, level=0.95)
    assert len(calls) == 3 + 1  # three different 10 % subsets, one 100 % fit shared by the seeds
    full = [r["auroc"] for r in metrics if r["fraction"] == 1.0 and r["pathology"] == "a"]
    assert full[0] == full[1] == full[2]
