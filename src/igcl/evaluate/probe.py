"""Linear probe on frozen features: per pathology, standardise then L2 logistic regression (sklearn)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from igcl.evaluate.metrics import score_pathologies
from igcl.evaluate.sampling import sample_fraction
from igcl.rng import Stream, stream_rng

SMALL_PROBLEM = 2_000_000  # training-matrix elements below which a probe fits with one BLAS thread


def fit_probe_scores(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, *, C: float,
                     max_iter: int) -> np.ndarray:
    """Fit on ``train_x`` [n, F] / ``train_y`` [n] (0/1, both present) and return P(positive) for ``test_x`` [m, F]."""
    train_y = np.asarray(train_y).astype(np.int64)
    if train_y.size == 0 or train_y.min() == train_y.max():
        raise ValueError(f"a probe needs both classes; got {int(train_y.sum())} positives of {train_y.size}")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    # one BLAS thread for small problems (the phantom's, few-shot): threads spinning on a shared machine made those
    # fits 5x slower; large ones (real CheXpert at 10-100 %) use what the process has
    with warnings.catch_warnings(), threadpool_limits(1 if train_x.size < SMALL_PROBLEM else None):
        # a probe on a handful of images may stop at max_iter; its scores are still what we evaluate
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, train_y)
        return model.predict_proba(test_x)[:, 1]


def probe_all_pathologies(train_x: np.ndarray, train_targets: np.ndarray, test_x: np.ndarray, *, C: float,
                          max_iter: int) -> np.ndarray:
    """Scores ``[m, P]``: one probe per pathology on the images usable for it; a NaN column where the training
    images lack a positive or a negative (see :func:`igcl.evaluate.metrics.score_pathologies`)."""
    scores = np.full((test_x.shape[0], train_targets.shape[1]), np.nan)
    for p in range(train_targets.shape[1]):
        usable = np.isfinite(train_targets[:, p])
        y = train_targets[usable, p]
        if y.size and 0 < y.sum() < y.size:
            scores[:, p] = fit_probe_scores(train_x[usable], y, test_x, C=C, max_iter=max_iter)
    return scores


# ---- the linear-probe task: fractions × seeds ----------------------------------------------------------------


@dataclass(frozen=True)
class ProbeData:
    """Frozen features and targets: train pool ``train_x`` [n, F], ``train_targets`` [n, P], ``train_patients``
    [n], ``train_rows`` [n] shard rows; test ``test_x`` [m, F], ``test_targets`` [m, P], ``test_rows`` [m] shard
    rows, ``test_studies`` [m]."""

    train_x: np.ndarray
    train_targets: np.ndarray
    train_patients: np.ndarray
    train_rows: np.ndarray
    test_x: np.ndarray
    test_targets: np.ndarray
    test_rows: np.ndarray
    test_studies: np.ndarray
    pathologies: tuple[str, ...]
    test_split: str = "valid"                 # the CheXpert split the test images come from
    valid_x: np.ndarray | None = None         # threshold split (CheXpert valid) when the test split is ``test``
    valid_targets: np.ndarray | None = None
    valid_rows: np.ndarray | None = None


def fraction_subset_rng(seed: int, fraction: float) -> np.random.Generator:
    """The Generator of the (seed, fraction) training subset; linear probe and fine-tuning share it, so at the
    same seed and fraction they train on the same patients."""
    return stream_rng(seed, Stream.PROBE_SUBSET, int(round(fraction * 1_000_000)))


def score_records(method: str, task: str, setting: dict, seed: int, data: ProbeData, scores: np.ndarray) -> list[dict]:
    """Per-image test score rows (SCORES_SCHEMA) for every pathology that has a classifier."""
    records = []
    for p, name in enumerate(data.pathologies):
        usable = np.isfinite(data.test_targets[:, p]) & np.isfinite(scores[:, p])
        for i in np.flatnonzero(usable):
            records.append({"method": method, "task": task, **setting, "seed": seed, "pathology": name,
                            "row": int(data.test_rows[i]), "study_id": str(data.test_studies[i]),
                            "split": data.test_split,
                            "label": int(data.test_targets[i, p]), "score": float(scores[i, p])})
    return records


def metric_records(method: str, task: str, setting: dict, seed: int, data: ProbeData, scores: np.ndarray,
                   train_targets: np.ndarray, *, n_bootstrap: int, level: float,
                   rng: np.random.Generator) -> list[dict]:
    """AUROC rows (per pathology + mean) with training counts, for one (setting, seed)."""
    rows = score_pathologies(data.test_targets, scores, data.pathologies, n_bootstrap=n_bootstrap, level=level,
                             rng=rng)
    for p, row in enumerate(rows[:-1]):
        usable = np.isfinite(train_targets[:, p])
        row.update(n_train=int(usable.sum()), n_train_pos=int((train_targets[usable, p] == 1).sum()))
    rows[-1].update(n_train=int(len(train_targets)), n_train_pos=int(sum(r["n_train_pos"] for r in rows[:-1])))
    return [{"method": method, "task": task, **setting, "seed": seed, **row} for row in rows]


@dataclass(frozen=True)
class ScoredCell:
    """One (setting, seed) of a probe: its training targets [n, P], test scores [m, P] and, when the data have a
    threshold split, validation scores [v, P] from the same fitted probes. ``index``: the setting's position."""

    task: str
    setting: dict
    seed: int
    index: int
    train_targets: np.ndarray
    test_scores: np.ndarray
    valid_scores: np.ndarray | None


def linear_probe_cells(data: ProbeData, *, fractions: tuple[float, ...], seeds: tuple[int, ...], C: float,
                       max_iter: int) -> list[ScoredCell]:
    """Fit the linear probe at each label fraction and seed; score the test (and validation) images."""
    cells = []
    fitted: dict[bytes, np.ndarray] = {}  # the fit is deterministic: seeds that draw the same subset share it
    scored_x = data.test_x if data.valid_x is None else np.concatenate([data.test_x, data.valid_x])
    m = data.test_x.shape[0]
    for f_index, fraction in enumerate(fractions):
        for seed in seeds:
            subset = sample_fraction(data.train_patients, data.train_targets, fraction,
                                     fraction_subset_rng(seed, fraction), data.pathologies)
            train_targets = data.train_targets[subset.indices]
            key = subset.indices.tobytes()
            if key not in fitted:  # e.g. 100 %: every seed takes every patient
                fitted[key] = probe_all_pathologies(data.train_x[subset.indices], train_targets, scored_x, C=C,
                                                    max_iter=max_iter)
            scores = fitted[key]
            cells.append(ScoredCell("linear", {"fraction": float(fraction)}, seed, f_index, train_targets,
                                    scores[:m], None if data.valid_x is None else scores[m:]))
    return cells


def run_linear_probe(data: ProbeData, *, method: str, fractions: tuple[float, ...], seeds: tuple[int, ...],
                     C: float, max_iter: int, n_bootstrap: int, level: float,
                     cells: list[ScoredCell] | None = None) -> tuple[list[dict], list[dict]]:
    """Linear probe at each label fraction and seed → (metric rows, per-image score rows). ``cells``: already
    fitted ones (:func:`linear_probe_cells`), so a caller that also needs their scores fits once."""
    metrics, scores_out = [], []
    if cells is None:
        cells = linear_probe_cells(data, fractions=fractions, seeds=seeds, C=C, max_iter=max_iter)
    for cell in cells:
        metrics += metric_records(method, "linear", cell.setting, cell.seed, data, cell.test_scores,
                                  cell.train_targets, n_bootstrap=n_bootstrap, level=level,
                                  rng=stream_rng(cell.seed, Stream.PROBE_BOOTSTRAP, cell.index))
        scores_out += score_records(method, "linear", cell.setting, cell.seed, data, cell.test_scores)
    return metrics, scores_out
