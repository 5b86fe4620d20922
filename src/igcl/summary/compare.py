"""Paired method comparisons: the AUROC difference of two methods with a two-level bootstrap CI.

Within one (task, setting) slice every method is scored on the same test images by probes trained on the same
patient subsets (per sampling seed), so differences are paired. For methods A, B and pathology p

    AUROC(M, p) = mean over M's pretraining seeds of (mean over sampling seeds of sklearn AUROC),
    diff(p)     = AUROC(A, p) − AUROC(B, p),        diff(mean) = mean over p of diff(p).

Bootstrap resample b draws ONE set of test-image counts ``counts[b]`` (shared by both methods, all seeds and
pathologies: the pairing) and, per method, its pretraining seeds with replacement ``picks[M][b]`` (shared by all
pathologies, since a pretraining seed is one checkpoint). AUROC_b(M, p) averages ``weighted_auroc`` over the picked
seeds, so the percentile CI of diff_b covers test-set and pretraining-seed variation; with one pretraining seed the
second level is a no-op. Resamples with a NaN (a class absent for p) are skipped and counted. Draws are made once
per slice (counts first, then picks in method order) and reused by every pair, so one method's resamples agree
across its comparisons.

``COMPARISONS_SCHEMA`` rows: task, fraction, k (the slice), method_a, method_b, baseline (method_b is a baseline),
pathology (or ``mean``), diff, ci_low, ci_high, n (test images), n_pretrain_seeds_a/_b, n_sampling_seeds,
n_bootstrap, n_skipped, separable (CI excludes 0), verdict.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from igcl.evaluate.metrics import auroc, bootstrap_counts, percentile_ci, weighted_auroc

SLICE_KEYS = ["task", "fraction", "k"]
COMPARISONS_SCHEMA = pa.schema([
    ("task", pa.string()), ("fraction", pa.float64()), ("k", pa.int64()), ("method_a", pa.string()),
    ("method_b", pa.string()), ("baseline", pa.bool_()), ("pathology", pa.string()), ("diff", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("n", pa.int64()), ("n_pretrain_seeds_a", pa.int64()),
    ("n_pretrain_seeds_b", pa.int64()), ("n_sampling_seeds", pa.int64()), ("n_bootstrap", pa.int64()),
    ("n_skipped", pa.int64()), ("separable", pa.bool_()), ("verdict", pa.string()),
])


@dataclass(frozen=True)
class _Grid:
    """One method's scores for one pathology: ``scores`` [pretrain seeds, sampling seeds, n] on sorted ``rows``."""

    rows: np.ndarray
    labels: np.ndarray
    sampling_seeds: tuple[int, ...]
    scores: np.ndarray


@dataclass(frozen=True)
class _MethodScores:
    method: str
    pretrain_seeds: tuple[int, ...]
    grids: dict[str, _Grid]


def _method_scores(frame: pl.DataFrame, method: str) -> _MethodScores:
    """Check that each pathology's rows form a complete (pretrain seed × sampling seed × test row) grid."""
    grids, pretrain = {}, None
    for (name,), part in sorted(frame.filter(pl.col("method") == method).partition_by(
            "pathology", as_dict=True).items()):
        part = part.sort(["pretrain_seed", "seed", "row"])
        pre, samp, rows = (np.unique(part[c].to_numpy()) for c in ("pretrain_seed", "seed", "row"))
        shape = (pre.size, samp.size, rows.size)
        grid_ok = part.height == np.prod(shape) and all(
            (part[c].to_numpy().reshape(shape) == want).all()
            for c, want in (("pretrain_seed", pre[:, None, None]), ("seed", samp[None, :, None]),
                            ("row", rows[None, None, :])))
        if not grid_ok:
            raise ValueError(f"{method}, {name}: scores do not form a complete grid of {pre.size} pretraining "
                             f"seeds × {samp.size} sampling seeds × {rows.size} test rows ({part.height} rows)")
        labels = part["label"].to_numpy().astype(np.int64).reshape(shape)
        if (labels != labels[:1, :1]).any():
            raise ValueError(f"{method}, {name}: a test row's label differs between seeds")
        if pretrain is not None and tuple(pre) != pretrain:
            raise ValueError(f"{method}: pretraining seeds {pre.tolist()} for {name} differ from {list(pretrain)}")
        pretrain = tuple(int(s) for s in pre)
        grids[name] = _Grid(rows, labels[0, 0], tuple(int(s) for s in samp),
                            part["score"].to_numpy().reshape(shape))
    if pretrain is None:
        raise ValueError(f"no scores for method {method!r}")
    return _MethodScores(method, pretrain, grids)


def _common_pathologies(a: _MethodScores, b: _MethodScores) -> list[str]:
    """Pathologies scored by both, after checking that they are paired (same seeds, rows and labels)."""
    common = sorted(set(a.grids) & set(b.grids))
    for name in common:
        ga, gb = a.grids[name], b.grids[name]
        if ga.sampling_seeds != gb.sampling_seeds:
            raise ValueError(f"{name}: sampling seeds differ: {a.method} has {list(ga.sampling_seeds)}, "
                             f"{b.method} has {list(gb.sampling_seeds)}")
        if not np.array_equal(ga.rows, gb.rows):
            raise ValueError(f"{name}: {a.method} and {b.method} are scored on different test rows")
        if not np.array_equal(ga.labels, gb.labels):
            raise ValueError(f"{name}: labels differ between {a.method} and {b.method} on the same test rows")
    return common


def _point(ms: _MethodScores, name: str) -> float:
    grid = ms.grids[name]
    return float(np.mean([[auroc(grid.labels, s) for s in per_pre] for per_pre in grid.scores]))


def _bootstrap(ms: _MethodScores, name: str, counts: np.ndarray, universe: np.ndarray,
               picks: np.ndarray) -> np.ndarray:
    """AUROC_b(M, p) [B]: ``counts`` [B, N] over ``universe`` rows, ``picks`` [B, pretrain seeds] indices."""
    grid = ms.grids[name]
    weights = counts[:, np.searchsorted(universe, grid.rows)]
    per_pre = np.stack([np.mean([weighted_auroc(grid.labels, s, weights) for s in per_pre], axis=0)
                        for per_pre in grid.scores], axis=1)  # [B, pretrain seeds]
    return np.take_along_axis(per_pre, picks, axis=1).mean(axis=1)


def _bootstrap_methods(frame: pl.DataFrame, methods: Sequence[str], n_bootstrap: int,
                       rng: np.random.Generator) -> tuple[dict[str, _MethodScores], dict[str, dict]]:
    """Each method's scores and AUROC_b per pathology, from one draw of image counts (then picks, in order)."""
    universe = np.unique(frame["row"].to_numpy())
    counts = bootstrap_counts(universe.size, n_bootstrap, rng)
    data, boots = {m: _method_scores(frame, m) for m in methods}, {}
    for m, ms in data.items():
        picks = rng.integers(0, len(ms.pretrain_seeds), size=(n_bootstrap, len(ms.pretrain_seeds)))
        boots[m] = {p: _bootstrap(ms, p, counts, universe, picks) for p in ms.grids}
    return data, boots


def _pair_rows(a: _MethodScores, b: _MethodScores, boot_a: dict, boot_b: dict, level: float) -> list[dict]:
    """Per-pathology and mean rows; ``boot_*`` map a pathology to its AUROC_b [B]."""
    common = _common_pathologies(a, b)
    head = {"method_a": a.method, "method_b": b.method, "n_pretrain_seeds_a": len(a.pretrain_seeds),
            "n_pretrain_seeds_b": len(b.pretrain_seeds)}

    def row(name, diff, boot, n, n_seeds):
        low, high, skipped = percentile_ci(boot, level)
        verdict = (f"{a.method} better" if low > 0 else f"{b.method} better" if high < 0 else "not separable")
        return {**head, "pathology": name, "diff": diff, "ci_low": low, "ci_high": high, "n": n,
                "n_sampling_seeds": n_seeds, "n_skipped": skipped, "separable": bool(low > 0 or high < 0),
                "verdict": verdict}

    rows, diffs, boots = [], [], []
    for name in common:
        grid = a.grids[name]
        diff, boot = _point(a, name) - _point(b, name), boot_a[name] - boot_b[name]
        rows.append(row(name, diff, boot, grid.rows.size, len(grid.sampling_seeds)))
        if np.isfinite(diff):  # a pathology whose test set lacks a class has no AUROC for either method
            diffs.append(diff)
            boots.append(boot)
    n_all = np.unique(np.concatenate([a.grids[p].rows for p in common])).size if common else 0
    n_seeds = len({s for p in common for s in a.grids[p].sampling_seeds})
    mean_boot = np.mean(boots, axis=0) if boots else np.full(next(iter(boot_a.values())).size, np.nan)
    rows.append(row("mean", float(np.mean(diffs)) if diffs else float("nan"), mean_boot, n_all, n_seeds))
    return rows


def _slice_of(scores: pl.DataFrame) -> dict:
    slices = scores.select(SLICE_KEYS).unique()
    if slices.height != 1:
        raise ValueError(f"expected one (task, fraction, k) slice, got {slices.height}: {slices.rows()}")
    return slices.row(0, named=True)


def paired_difference(scores: pl.DataFrame, method_a: str, method_b: str, *, n_bootstrap: int, level: float,
                      rng: np.random.Generator) -> list[dict]:
    """Rows (per pathology + ``mean``) comparing ``method_a`` with ``method_b`` on ONE slice of test scores."""
    _slice_of(scores)
    _common_pathologies(_method_scores(scores, method_a), _method_scores(scores, method_b))  # fail fast
    data, boots = _bootstrap_methods(scores, [method_a, method_b], n_bootstrap, rng)
    return _pair_rows(data[method_a], data[method_b], boots[method_a], boots[method_b], level)


def slice_rng(seed: int, task: str, fraction: float | None, k: int | None) -> np.random.Generator:
    """The slice's own Generator, so adding or removing a slice never shifts another slice's draws."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(f"{task}|{fraction}|{k}".encode())]))


def compare_methods(scores: pl.DataFrame, methods: Sequence[str], *, baselines: Sequence[str], n_bootstrap: int,
                    level: float, seed: int = 0) -> pl.DataFrame:
    """Every unordered pair of ``methods`` (method_a earlier in ``methods``) in every slice → COMPARISONS_SCHEMA.

    A method without scores in a slice is left out of that slice's pairs.
    """
    out = []
    for key in scores.select(SLICE_KEYS).unique().sort(SLICE_KEYS, nulls_last=True).iter_rows(named=True):
        part = scores.filter(*(pl.col(c).eq_missing(v) for c, v in key.items()))
        scored = set(part["method"].unique())
        present = [m for m in methods if m in scored]
        data, boots = _bootstrap_methods(part, present, n_bootstrap, slice_rng(seed, **key))
        for i, m_a in enumerate(present):
            for m_b in present[i + 1:]:
                out += [{**key, "baseline": m_b in baselines, "n_bootstrap": n_bootstrap, **r}
                        for r in _pair_rows(data[m_a], data[m_b], boots[m_a], boots[m_b], level)]
    columns = {f.name: pa.array([r[f.name] for r in out], type=f.type) for f in COMPARISONS_SCHEMA}
    return pl.from_arrow(pa.table(columns, schema=COMPARISONS_SCHEMA))


def _signed(x: float) -> str:
    return f"{x:+.3f}".replace("-", "\N{MINUS SIGN}")


def verdict_sentence(row: dict) -> str:
    """E.g. ``"igcl − random: +0.081 [+0.040, +0.120], igcl better"``."""
    return (f"{row['method_a']} \N{MINUS SIGN} {row['method_b']}: {_signed(row['diff'])} "
            f"[{_signed(row['ci_low'])}, {_signed(row['ci_high'])}], {row['verdict']}")
