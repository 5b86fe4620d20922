"""Thresholded metrics: one threshold per pathology chosen on the validation split, then applied to the test split.

A score becomes a call (positive when ``score >= threshold``) only through a threshold, and a threshold chosen on
the images it is scored on flatters every metric. So, as CheXzero does, thresholds are chosen on CheXpert
``valid`` and the metrics are read on ``test``; :func:`choose_threshold` never sees a test label or score.

Rules (``evaluate.thresholds.rule``):

- ``youden``: maximise Youden's J = sensitivity + specificity − 1 over the validation ROC;
- ``f1``: maximise F1 over the validation scores.

The candidates are the distinct validation scores; where several reach the best objective the highest threshold
wins (the most conservative call), so the choice is deterministic.

Test metrics at the chosen threshold: MCC, F1, sensitivity and specificity, each with a percentile bootstrap CI
over the test images (the threshold is held fixed: it was chosen on valid, which is not resampled). Where a
metric's denominator is 0 (no call made, say), MCC and F1 are 0, as sklearn defines them; sensitivity without a
test positive (specificity without a negative) has no value and its resample is skipped.
"""

from __future__ import annotations

import numpy as np

from igcl.evaluate.metrics import bootstrap_counts, percentile_ci

THRESHOLD_RULES: tuple[str, ...] = ("youden", "f1")
METRICS: tuple[str, ...] = ("mcc", "f1", "sensitivity", "specificity")


def choose_threshold(labels: np.ndarray, scores: np.ndarray, rule: str) -> float:
    """The threshold of ``scores`` [n] that maximises ``rule`` on binary ``labels`` [n] (both classes present)."""
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}; known rules: {', '.join(THRESHOLD_RULES)}")
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"choosing a threshold needs both classes; got {n_pos} positives of {labels.size}")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # the last index of each run of equal scores: calling everything >= that score positive
    ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
    tp = np.cumsum(sorted_labels)[ends]
    fp = (ends + 1) - tp
    if rule == "youden":
        objective = tp / n_pos - fp / n_neg
    else:
        objective = 2 * tp / (2 * tp + fp + (n_pos - tp))
    best = int(np.argmax(objective))  # first maximum = highest threshold among ties
    return float(sorted_scores[ends[best]])


def confusion_counts(labels: np.ndarray, calls: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted TP, FP, FN, TN ``[B]`` each, from ``labels`` / ``calls`` [n] (bool) and ``weights`` [B, n]."""
    labels, calls = np.asarray(labels, bool), np.asarray(calls, bool)
    weights = np.asarray(weights, dtype=np.float64)
    return tuple(weights @ (a & b).astype(np.float64)
                 for a, b in ((labels, calls), (~labels, calls), (labels, ~calls), (~labels, ~calls)))


def metrics_from_counts(tp, fp, fn, tn) -> dict[str, np.ndarray]:
    """MCC, F1, sensitivity, specificity from (arrays of) confusion counts; see the module docstring for 0/0."""
    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    with np.errstate(invalid="ignore", divide="ignore"):
        mcc_den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(mcc_den > 0, (tp * tn - fp * fn) / np.where(mcc_den > 0, mcc_den, 1.0), 0.0)
        f1_den = 2 * tp + fp + fn
        f1 = np.where(f1_den > 0, 2 * tp / np.where(f1_den > 0, f1_den, 1.0), 0.0)
        sensitivity = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1.0), np.nan)
        specificity = np.where(tn + fp > 0, tn / np.where(tn + fp > 0, tn + fp, 1.0), np.nan)
    return {"mcc": mcc, "f1": f1, "sensitivity": sensitivity, "specificity": specificity}


def thresholded_rows(valid_targets: np.ndarray, valid_scores: np.ndarray, test_targets: np.ndarray,
                     test_scores: np.ndarray, pathologies: tuple[str, ...], *, rule: str, n_bootstrap: int,
                     level: float, rng: np.random.Generator) -> list[dict]:
    """Per pathology and metric (plus a ``mean`` over the pathologies with a threshold): threshold, value,
    ci_low, ci_high, n_pos, n, n_skipped, status.

    ``*_targets`` [n, P] (1 / 0 / NaN = not usable), ``*_scores`` [n, P] (a NaN column: no classifier). One set of
    test-image bootstrap counts serves every pathology, so the mean's CI is the bootstrap of the mean."""
    n = test_targets.shape[0]
    counts = bootstrap_counts(n, n_bootstrap, rng)
    boot = {m: np.full((n_bootstrap, len(pathologies)), np.nan) for m in METRICS}
    rows: list[dict] = []
    scored: list[int] = []
    for p, name in enumerate(pathologies):
        v_use = np.isfinite(valid_targets[:, p]) & np.isfinite(valid_scores[:, p])
        t_use = np.isfinite(test_targets[:, p])
        vy, ty = valid_targets[v_use, p], test_targets[t_use, p].astype(bool)
        base = {"pathology": name, "n_pos": int(ty.sum()), "n": int(t_use.sum())}
        status, threshold = "ok", float("nan")
        if not np.isfinite(test_scores[:, p]).any():
            status = "no classifier (no usable training positive or negative)"
        elif vy.size == 0 or vy.min() == vy.max():
            status = "validation split lacks a positive or a negative: no threshold"
        elif ty.size == 0:
            status = "no usable test image"
        if status != "ok":
            rows += [{**base, "metric": m, "threshold": threshold, "value": float("nan"), "ci_low": float("nan"),
                      "ci_high": float("nan"), "n_skipped": n_bootstrap, "status": status} for m in METRICS]
            continue
        threshold = choose_threshold(vy, valid_scores[v_use, p], rule)
        calls = test_scores[t_use, p] >= threshold
        point = metrics_from_counts(*confusion_counts(ty, calls, np.ones((1, ty.size))))
        resampled = metrics_from_counts(*confusion_counts(ty, calls, counts[:, t_use]))
        for m in METRICS:
            boot[m][:, p] = resampled[m]
            low, high, skipped = percentile_ci(resampled[m], level)
            rows.append({**base, "metric": m, "threshold": threshold, "value": float(point[m][0]), "ci_low": low,
                         "ci_high": high, "n_skipped": skipped, "status": "ok"})
        scored.append(p)
    for m in METRICS:
        mean = {"pathology": "mean", "metric": m, "threshold": float("nan"), "n": int(n),
                "n_pos": int(sum(r["n_pos"] for r in rows if r["metric"] == m)), "value": float("nan"),
                "ci_low": float("nan"), "ci_high": float("nan"), "n_skipped": n_bootstrap,
                "status": "no pathology has a threshold"}
        if scored:
            values = [r["value"] for r in rows if r["metric"] == m and r["status"] == "ok"]
            low, high, skipped = percentile_ci(boot[m][:, scored].mean(axis=1), level)
            mean.update(value=float(np.mean(values)), ci_low=low, ci_high=high, n_skipped=skipped,
                        status="ok" if len(scored) == len(pathologies) else f"partial {len(scored)}/{len(pathologies)}")
        rows.append(mean)
    return rows
