"""Simulated radiologists for the phantom CheXpert test split: ``phantom_radiologists.csv`` (no real layout has it).

The real CheXpert test set comes with the reads of radiologists, which papers draw as operating points beside a
model's ROC curve. The phantom simulates such readers honestly, from the images' truth and its seed:

- reader ``r`` (``reader_1`` .. ``reader_3``) gets, for each competition pathology ``p``
  (:data:`igcl.labels.COMPETITION_PATHOLOGIES`), a sensitivity ``TPR_rp ~ U(0.45, 0.92)`` and a false positive rate
  ``FPR_rp ~ U(0.03, 0.31)`` (the range of the published CheXpert-test radiologists), drawn from its own stream
  ``(seed, CHEXPERT_TEST, READERS_STREAM, r, p)``;
- it reads every test image once: positive with probability ``TPR_rp`` when the image shows ``p``, ``FPR_rp``
  otherwise (image ``i``'s read is the stream's ``i``-th uniform draw after the two rates, so the first reads stay
  the same when the test split grows);
- the file holds what those reads achieve against the written test labels: ``fpr = FP / negatives``,
  ``tpr = TP / positives``, blank where the test split has no negative (or no positive) image for ``p``.

File: one ``# `` comment line, then the header ``reader,pathology,fpr,tpr`` and one row per reader and pathology
(readers in order, pathologies in COMPETITION_PATHOLOGIES order), rates with 6 decimals.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from igcl.data.columns import PHANTOM_READERS_COLUMNS
from igcl.data.phantom.study import CHEXPERT_TEST, READERS_STREAM
from igcl.labels import COMPETITION_PATHOLOGIES

N_READERS = 3
TPR_RANGE = (0.45, 0.92)
FPR_RANGE = (0.03, 0.31)
COMMENT = ("# source: simulated radiologists of the phantom CheXpert test split (igcl.data.phantom.readers; not part of any "
           "real CheXpert layout): the fpr and tpr that each reader's seeded Bernoulli reads of the test images "
           "achieve against test_labels.csv")


def reader_names() -> list[str]:
    return [f"reader_{r}" for r in range(1, N_READERS + 1)]


def simulate_reads(seed: int, truth: np.ndarray) -> np.ndarray:
    """Every reader's read of every test image: bool ``[N_READERS, P, N]`` for truth ``[N, P]`` (1/0, columns in
    COMPETITION_PATHOLOGIES order)."""
    truth = np.asarray(truth)
    if truth.ndim != 2 or truth.shape[1] != len(COMPETITION_PATHOLOGIES):
        raise ValueError(f"simulate_reads: truth must be [N, {len(COMPETITION_PATHOLOGIES)}], got {list(truth.shape)}")
    reads = np.zeros((N_READERS, truth.shape[1], truth.shape[0]), dtype=bool)
    for r in range(N_READERS):
        for p in range(truth.shape[1]):
            rng = np.random.default_rng([seed, CHEXPERT_TEST, READERS_STREAM, r, p])
            tpr, fpr = rng.uniform(*TPR_RANGE), rng.uniform(*FPR_RANGE)
            reads[r, p] = rng.random(truth.shape[0]) < np.where(truth[:, p] == 1, tpr, fpr)
    return reads


def operating_points(reads: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``[R, P, 2]`` float64 (fpr, tpr) of reads ``[R, P, N]`` against truth ``[N, P]``; NaN where undefined."""
    positive = np.asarray(truth).T == 1  # [P, N]
    n_pos, n_neg = positive.sum(axis=1), (~positive).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = (reads & positive).sum(axis=2) / n_pos
        fpr = (reads & ~positive).sum(axis=2) / n_neg
    return np.stack([np.where(n_neg > 0, fpr, np.nan), np.where(n_pos > 0, tpr, np.nan)], axis=2)


def _rate(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6f}"


def write_readers_csv(path: Path, seed: int, truth: np.ndarray) -> int:
    """Write ``phantom_radiologists.csv`` for the test images' truth ``[N, P]``; returns the number of rows."""
    points = operating_points(simulate_reads(seed, truth), truth)
    lines = [COMMENT, ",".join(PHANTOM_READERS_COLUMNS)]
    for r, reader in enumerate(reader_names()):
        for p, pathology in enumerate(COMPETITION_PATHOLOGIES):
            lines.append(f"{reader},{pathology},{_rate(points[r, p, 0])},{_rate(points[r, p, 1])}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 2
