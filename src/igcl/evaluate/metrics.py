"""AUROC with percentile-bootstrap confidence intervals over the test images.

The bootstrap is vectorised: a resample of the n test images is a row of multinomial counts (how often each image
was drawn), ``counts`` [B, n]. For a count-weighted sample the Mann-Whitney AUROC is

    AUROC_b = Σ_{i pos, j neg} c_bi c_bj (1[s_i > s_j] + ½·1[s_i = s_j]) / (W⁺_b · W⁻_b),

computed for all B resamples at once from one sort of the scores (tie groups, cumulative negative weight). The
same counts serve every pathology, so the mean AUROC's CI comes from bootstrapping the mean itself. A resample
with no positive or no negative (for a pathology) has no AUROC; it is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """sklearn's AUROC of binary ``labels`` [n] against ``scores`` [n]; NaN when a class is absent."""
    labels = np.asarray(labels)
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def bootstrap_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_bootstrap, n]`` int64 counts: each row is one resample (with replacement) of n items."""
    if n == 0:
        return np.zeros((n_bootstrap, 0), dtype=np.int64)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap)


def weighted_auroc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC of each weighted sample: ``labels`` [n] 0/1, ``scores`` [n], ``weights`` [B, n] → [B] (NaN: no class)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    # tie groups in ascending score order: group[k] is the group of the k-th smallest score
    group = np.concatenate([[0], np.cumsum(sorted_scores[1:] != sorted_scores[:-1])]) if scores.size else order
    n_groups = int(group[-1]) + 1 if scores.size else 0
    w = weights[:, order]
    pos = labels[order]
    pos_w = np.zeros((weights.shape[0], n_groups))
    neg_w = np.zeros((weights.shape[0], n_groups))
    np.add.at(pos_w.T, group[pos], w[:, pos].T)
    np.add.at(neg_w.T, group[~pos], w[:, ~pos].T)
    neg_below = np.cumsum(neg_w, axis=1) - neg_w
    numerator = (pos_w * (neg_below + 0.5 * neg_w)).sum(axis=1)
    denominator = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


@dataclass(frozen=True)
class AurocEstimate:
    """Point AUROC, percentile CI, and how many resamples were skipped for lacking a class."""

    auroc: float
    ci_low: float
    ci_high: float
    n_pos: int
    n: int
    skipped: int


def percentile_ci(values: np.ndarray, level: float) -> tuple[float, float, int]:
    """Percentile interval of the finite ``values`` [B] and the count of non-finite (skipped) ones."""
    finite = values[np.isfinite(values)]
    skipped = int(values.size - finite.size)
    if finite.size == 0:
        return float("nan"), float("nan"), skipped
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high), skipped


def bootstrap_auroc(labels: np.ndarray, scores: np.ndarray, *, n_bootstrap: int, level: float,
                    rng: np.random.Generator) -> AurocEstimate:
    """AUROC of ``labels`` [n] (0/1) vs ``scores`` [n] with a percentile bootstrap CI."""
    counts = bootstrap_counts(len(labels), n_bootstrap, rng)
    boot = weighted_auroc(labels, scores, counts)
    low, high, skipped = percentile_ci(boot, level)
    labels = np.asarray(labels)
    return AurocEstimate(auroc(labels, scores), low, high, int(labels.sum()), int(labels.size), skipped)


def score_pathologies(targets: np.ndarray, scores: np.ndarray, pathologies: tuple[str, ...], *,
                      n_bootstrap: int, level: float, rng: np.random.Generator) -> list[dict]:
    """Per-pathology and mean AUROC with bootstrap CIs, resampling the test images jointly.

    ``targets`` [n, P] (1 / 0 / NaN = not usable), ``scores`` [n, P] (NaN column = no classifier for it).
    Returns one dict per pathology plus one with pathology ``"mean"``: auroc, ci_low, ci_high, n_pos, n,
    n_skipped (resamples without both classes), status. A pathology without a test positive/negative or without
    scores gets auroc NaN and a status saying why; the mean is over the pathologies that have an AUROC (its
    status says ``partial k/P`` when some are missing), its CI from the per-resample mean over those same ones.
    """
    n, n_path = targets.shape
    counts = bootstrap_counts(n, n_bootstrap, rng)
    boot = np.full((n_bootstrap, n_path), np.nan)
    rows = []
    for p, name in enumerate(pathologies):
        usable = np.isfinite(targets[:, p])
        y = targets[usable, p].astype(np.int64)
        n_pos = int(y.sum())
        row = {"pathology": name, "n_pos": n_pos, "n": int(usable.sum()), "auroc": float("nan"),
               "ci_low": float("nan"), "ci_high": float("nan"), "n_skipped": n_bootstrap}
        if not np.isfinite(scores[:, p]).any():
            row["status"] = "no classifier (no usable training positive or negative)"
        elif n_pos == 0 or n_pos == y.size:
            row["status"] = "test set lacks a positive or a negative"
        else:
            s = scores[usable, p]
            if not np.isfinite(s).all():
                raise ValueError(f"{name}: non-finite scores for {int((~np.isfinite(s)).sum())} test images")
            boot[:, p] = weighted_auroc(y, s, counts[:, usable])
            low, high, skipped = percentile_ci(boot[:, p], level)
            row.update(auroc=auroc(y, s), ci_low=low, ci_high=high, n_skipped=skipped, status="ok")
        rows.append(row)
    scored = [p for p, row in enumerate(rows) if row["status"] == "ok"]
    mean_row = {"pathology": "mean", "n_pos": int(sum(r["n_pos"] for r in rows)), "n": int(n),
                "auroc": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n_skipped": n_bootstrap,
                "status": "no pathology could be scored"}
    if scored:
        mean_boot = boot[:, scored].mean(axis=1)  # NaN where any scored pathology's resample lacked a class
        low, high, skipped = percentile_ci(mean_boot, level)
        mean_row.update(auroc=float(np.mean([rows[p]["auroc"] for p in scored])), ci_low=low, ci_high=high,
                        n_skipped=skipped,
                        status="ok" if len(scored) == n_path else f"partial {len(scored)}/{n_path}")
    rows.append(mean_row)
    return rows
