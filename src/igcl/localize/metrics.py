"""Localization metrics: Dice and IoU of a predicted mask, the pointing game and the pixel AUROC of a similarity
(saliency) map, and per-finding means with percentile-bootstrap CIs over images.

Every per-image function takes arrays [..., H, W] (one image or a stack) and returns float64 [...].

Conventions (the cases where a ratio is 0/0):
- Dice ``2|P∩T| / (|P| + |T|)`` and IoU ``|P∩T| / |P∪T|`` are ``empty`` (default NaN) when prediction and truth
  are both empty; a non-empty prediction on an empty truth scores 0, an empty prediction on a non-empty truth 0.
  With NaN, the both-empty images drop out of a mean (CheXlocalize's evaluation likewise gives an image without a
  true mask no IoU); pass ``empty=1.0`` to count a correctly empty prediction as perfect (SIIM's Kaggle Dice).
- The pointing game and the pixel AUROC need a lesion: NaN on an empty truth (and the AUROC on a mask that covers
  the whole image). A map must have the mask's shape: upsample a region grid first.

:func:`score_findings` bootstraps over images, one resample (multinomial counts, as the AUROC bootstrap in
:mod:`igcl.evaluate.metrics`) shared by every finding, so the mean over findings gets its CI from the resampled mean
itself. NaN values (images where a metric is undefined) are left out of each mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from igcl.evaluate.metrics import bootstrap_counts, percentile_ci


def _pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape or pred.ndim < 2:
        raise ValueError(f"prediction {pred.shape} and truth {true.shape} must have the same shape [..., H, W]")
    return pred.astype(bool), true.astype(bool)


def _overlap(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred, true = _pair(pred, true)
    inter = np.logical_and(pred, true).sum(axis=(-2, -1)).astype(np.float64)
    return inter, pred.sum(axis=(-2, -1)).astype(np.float64), true.sum(axis=(-2, -1)).astype(np.float64)


def dice(pred: np.ndarray, true: np.ndarray, *, empty: float = np.nan) -> np.ndarray:
    """Dice of binary masks ``pred``, ``true`` [..., H, W] → [...]; ``empty`` where both are empty."""
    inter, p, t = _overlap(pred, true)
    total = p + t
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * inter / np.where(total > 0, total, 1.0), empty)


def iou(pred: np.ndarray, true: np.ndarray, *, empty: float = np.nan) -> np.ndarray:
    """IoU (Jaccard) of binary masks ``pred``, ``true`` [..., H, W] → [...]; ``empty`` where both are empty."""
    inter, p, t = _overlap(pred, true)
    union = p + t - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), empty)


def pointing_game(saliency: np.ndarray, true: np.ndarray) -> np.ndarray:
    """1.0 where the map's maximum falls inside the mask, 0.0 where not, NaN on an empty mask: ``saliency`` and
    ``true`` [..., H, W] → [...]. Ties go to the first maximum in row-major order (``np.argmax``)."""
    saliency = np.asarray(saliency, dtype=np.float64)
    _, true = _pair(saliency, true)
    flat_map = saliency.reshape(-1, saliency.shape[-2] * saliency.shape[-1])
    flat_true = true.reshape(flat_map.shape)
    if not np.isfinite(flat_map).all():
        raise ValueError("the saliency map has non-finite values")
    hit = flat_true[np.arange(flat_map.shape[0]), flat_map.argmax(axis=1)].astype(np.float64)
    hit[~flat_true.any(axis=1)] = np.nan
    return hit.reshape(saliency.shape[:-2])


def pixel_auroc(saliency: np.ndarray, true: np.ndarray) -> np.ndarray:
    """AUROC of the map's pixels as scores for the mask's pixels: [..., H, W] → [...]; NaN where the mask is
    empty or full (no negative pixel)."""
    saliency = np.asarray(saliency, dtype=np.float64)
    _, true = _pair(saliency, true)
    flat_map = saliency.reshape(-1, saliency.shape[-2] * saliency.shape[-1])
    flat_true = true.reshape(flat_map.shape)
    out = np.full(flat_map.shape[0], np.nan)
    for k in range(flat_map.shape[0]):
        positives = int(flat_true[k].sum())
        if 0 < positives < flat_true.shape[1]:
            out[k] = roc_auc_score(flat_true[k], flat_map[k])
    return out.reshape(saliency.shape[:-2])


def _weighted_means(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of the finite ``values`` [n] under each resample's ``counts`` [B, n] → [B] (NaN: no finite value drawn)."""
    finite = np.isfinite(values)
    weights = counts[:, finite].astype(np.float64)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights @ values[finite] / np.where(total > 0, total, 1.0), np.nan)


def score_findings(values: np.ndarray, findings: Sequence[str], *, n_bootstrap: int, level: float,
                   rng: np.random.Generator, metric: str = "value") -> list[dict]:
    """Per-finding means of a per-image metric with percentile-bootstrap CIs, resampling the images jointly.

    ``values`` [n, F] (NaN: undefined for that image, e.g. no lesion). Returns one dict per finding and one with
    finding ``"mean"``: ``finding``, ``metric``, ``value`` (the mean over the images where it is defined),
    ``ci_low``, ``ci_high``, ``n`` (those images), ``n_skipped`` (resamples that drew none of them), ``status``.
    The mean row averages the findings that have a value (``partial k/F`` when some do not); its CI comes from
    the per-resample mean over those same findings.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(findings):
        raise ValueError(f"values must be [n, {len(findings)}] (one column per finding), got {values.shape}")
    n = values.shape[0]
    counts = bootstrap_counts(n, n_bootstrap, rng)
    boot = np.full((n_bootstrap, len(findings)), np.nan)
    rows = []
    for f, name in enumerate(findings):
        column = values[:, f]
        defined = int(np.isfinite(column).sum())
        row = {"finding": name, "metric": metric, "value": float("nan"), "ci_low": float("nan"),
               "ci_high": float("nan"), "n": defined, "n_skipped": n_bootstrap,
               "status": "no image where it is defined"}
        if defined:
            boot[:, f] = _weighted_means(column, counts)
            low, high, skipped = percentile_ci(boot[:, f], level)
            row.update(value=float(np.nanmean(column)), ci_low=low, ci_high=high, n_skipped=skipped, status="ok")
        rows.append(row)
    scored = [f for f, row in enumerate(rows) if row["status"] == "ok"]
    mean_row = {"finding": "mean", "metric": metric, "value": float("nan"), "ci_low": float("nan"),
                "ci_high": float("nan"), "n": n, "n_skipped": n_bootstrap, "status": "no finding could be scored"}
    if scored:
        low, high, skipped = percentile_ci(boot[:, scored].mean(axis=1), level)
        mean_row.update(value=float(np.mean([rows[f]["value"] for f in scored])), ci_low=low, ci_high=high,
                        n_skipped=skipped,
                        status="ok" if len(scored) == len(findings) else f"partial {len(scored)}/{len(findings)}")
    rows.append(mean_row)
    return rows
