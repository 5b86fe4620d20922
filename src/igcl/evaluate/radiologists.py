"""Radiologist operating points: read a reader CSV, and compare each reader with a model's ROC at the same FPR.

Reader CSV (``evaluate.radiologists``): one row per reader and pathology, header ``reader,pathology,fpr,tpr``;
lines starting with ``#`` are comments, and a ``# source: ...`` comment names where the figures come from (the
summary quotes it). ``pathology`` must be one of the competition pathologies; fpr and tpr are rates in [0, 1], or
both blank: that reader has no operating point for that pathology (a test split without a positive, say).

Two files are known to the workflow (``evaluate.radiologists: auto``):

- ``data/chexpert_test_radiologists.csv`` (shipped): the three CheXpert-test radiologists whose operating points
  the IGCL authors plot, used only on the real CheXpert test split, where those readers read the same images;
- the phantom's ``phantom_radiologists.csv``: simulated readers (a Bernoulli read per test image from the image's
  truth, with a per-reader sensitivity and specificity), written with the phantom's test split.

The comparison: the model's sensitivity at the reader's false positive rate, read off the model's ROC on the test
split (linear interpolation between ROC points, as the curve is drawn), minus the reader's sensitivity. Its CI is a
percentile bootstrap over the test images: the model's curve is recomputed on each resample, and the reader's
point is held fixed (a published figure, without the per-image reads it came from), so the interval covers the
model's sampling variation only.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from igcl.evaluate.metrics import bootstrap_counts, percentile_ci
from igcl.labels import COMPETITION_PATHOLOGIES

READER_COLUMNS: tuple[str, ...] = ("reader", "pathology", "fpr", "tpr")
SHIPPED_CHEXPERT_TEST = "chexpert_test_radiologists.csv"


def shipped_chexpert_test_readers() -> Path:
    """The shipped file of the published CheXpert-test radiologist operating points."""
    return Path(str(resources.files("igcl.evaluate") / "data" / SHIPPED_CHEXPERT_TEST))


@dataclass(frozen=True)
class ReaderPoint:
    reader: str
    pathology: str
    fpr: float
    tpr: float


@dataclass(frozen=True)
class Readers:
    """The operating points of one CSV, in file order, and ``source`` (its ``# source:`` comment, else the path)."""

    points: tuple[ReaderPoint, ...]
    source: str
    path: str


def read_readers(path: str | os.PathLike[str], pathologies: tuple[str, ...] = COMPETITION_PATHOLOGIES) -> Readers:
    """Parse and check a reader CSV; ValueError naming the file, the line and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such radiologist file (evaluate.radiologists)") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from err
    source = str(path)
    body: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if comment.lower().startswith("source:"):
                source = comment.split(":", 1)[1].strip()
        elif stripped:
            body.append((number, line))
    if not body:
        raise ValueError(f"{path}: no header row; expected {','.join(READER_COLUMNS)}")
    header_line, *data = body
    header = tuple(h.strip() for h in next(csv.reader([header_line[1]])))
    if header != READER_COLUMNS:
        raise ValueError(f"{path}, line {header_line[0]}: header {list(header)}; expected {list(READER_COLUMNS)}")
    points, seen = [], set()
    for number, line in data:
        values = [v.strip() for v in next(csv.reader([line]))]
        where = f"{path}, line {number}"
        if len(values) != len(READER_COLUMNS):
            raise ValueError(f"{where}: {len(values)} fields; expected {len(READER_COLUMNS)} ({','.join(READER_COLUMNS)})")
        reader, pathology, fpr_text, tpr_text = values
        if not fpr_text and not tpr_text:  # no operating point (e.g. a split without a positive for it)
            continue
        if not reader:
            raise ValueError(f"{where}: empty reader name")
        if pathology not in pathologies:
            raise ValueError(f"{where}: unknown pathology {pathology!r}; known: {', '.join(pathologies)}")
        rates = []
        for column, value in (("fpr", fpr_text), ("tpr", tpr_text)):
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(f"{where}: {column} {value!r} is not a number") from None
            if not 0.0 <= rate <= 1.0 or math.isnan(rate):
                raise ValueError(f"{where}: {column} {value} is not a rate in [0, 1]")
            rates.append(rate)
        if (reader, pathology) in seen:
            raise ValueError(f"{where}: reader {reader!r} has a second row for {pathology}")
        seen.add((reader, pathology))
        points.append(ReaderPoint(reader, pathology, *rates))
    if not points:
        raise ValueError(f"{path}: header only, no operating points")
    return Readers(tuple(points), source, str(path))


def roc_points(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC curves ``(fpr, tpr)``, each [B, T + 1] from (0, 0), one vertex per distinct score (descending).

    ``labels`` [n] 0/1, ``scores`` [n], ``weights`` [B, n] (a row of ones: the plain curve)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    ends = np.flatnonzero(np.r_[scores[order][1:] != scores[order][:-1], True])
    w = np.asarray(weights, dtype=np.float64)[:, order]
    tp = np.cumsum(w * labels[order], axis=1)[:, ends]
    fp = np.cumsum(w * ~labels[order], axis=1)[:, ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tp / tp[:, -1:]
        fpr = fp / fp[:, -1:]
    zeros = np.zeros((w.shape[0], 1))
    return np.hstack([zeros, fpr]), np.hstack([zeros, tpr])


def sensitivity_at(fpr_curve: np.ndarray, tpr_curve: np.ndarray, fpr: float) -> float:
    """The curve's TPR at ``fpr`` (linear between vertices; at a vertical step, the top of the step); NaN when the
    curve is undefined (a class absent)."""
    if not (np.isfinite(fpr_curve).all() and np.isfinite(tpr_curve).all()):
        return float("nan")
    # np.interp needs increasing x: on a vertical run of equal FPR take the highest TPR (the top of the step)
    last = np.r_[fpr_curve[1:] != fpr_curve[:-1], True]
    return float(np.interp(fpr, fpr_curve[last], tpr_curve[last]))


def compare_with_readers(readers: Readers, test_targets: np.ndarray, test_scores: np.ndarray,
                         pathologies: tuple[str, ...], *, n_bootstrap: int, level: float,
                         rng: np.random.Generator) -> list[dict]:
    """One row per reader point: reader, pathology, reader_fpr, reader_tpr, model_tpr (at the reader's FPR), diff
    (model − reader), ci_low, ci_high, n_pos, n, n_skipped, status. ``test_targets`` / ``test_scores`` [n, P]."""
    counts = bootstrap_counts(test_targets.shape[0], n_bootstrap, rng)
    curves: dict[str, tuple] = {}
    rows = []
    for point in readers.points:
        p = pathologies.index(point.pathology)
        usable = np.isfinite(test_targets[:, p])
        y, s = test_targets[usable, p], test_scores[usable, p]
        row = {"reader": point.reader, "pathology": point.pathology, "reader_fpr": point.fpr,
               "reader_tpr": point.tpr, "model_tpr": float("nan"), "diff": float("nan"), "ci_low": float("nan"),
               "ci_high": float("nan"), "n_pos": int(np.nansum(y)), "n": int(y.size), "n_skipped": n_bootstrap}
        if not np.isfinite(s).all() or y.size == 0:
            rows.append({**row, "status": "no classifier for this pathology"})
            continue
        if y.min() == y.max():
            rows.append({**row, "status": "test set lacks a positive or a negative"})
            continue
        if point.pathology not in curves:
            curves[point.pathology] = (roc_points(y, s, np.ones((1, y.size))), roc_points(y, s, counts[:, usable]))
        (fpr1, tpr1), (fprb, tprb) = curves[point.pathology]
        model_tpr = sensitivity_at(fpr1[0], tpr1[0], point.fpr)
        boot = np.array([sensitivity_at(fprb[b], tprb[b], point.fpr) for b in range(n_bootstrap)]) - point.tpr
        low, high, skipped = percentile_ci(boot, level)
        rows.append({**row, "model_tpr": model_tpr, "diff": model_tpr - point.tpr, "ci_low": low, "ci_high": high,
                     "n_skipped": skipped, "status": "ok"})
    return rows
