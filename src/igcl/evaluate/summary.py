"""Collect every method's evaluate tables and write ``results/summary.md`` (tables, figures, computed findings).

Aggregation over seeds: for each (method, task, setting, pathology) the AUROC is the mean over seeds, and the
interval is the mean over seeds of each seed's bootstrap CI bounds (``ci_low``, ``ci_high``); the spread between
seeds is reported separately as ``sd`` (sample standard deviation; 0 with one seed). Retrieval precision is
aggregated the same way. Cells read ``0.812 [0.781, 0.843]``; a method without a report encoder reads ``n/a``.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from igcl.evaluate.config import ReportConfig
from igcl.evaluate.results import OUTPUT_FILES
from igcl.io import atomic_path
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.shards.schema import read_table

log = logging.getLogger(__name__)

REQUIRED = ("linear.parquet", "fewshot.parquet", "retrieval.parquet", "scores.parquet")
OPTIONAL = ("finetune.parquet",)


@dataclass(frozen=True)
class EvalResults:
    """All methods' tables concatenated (polars DataFrames with the schemas of :mod:`igcl.evaluate.results`)."""

    methods: tuple[str, ...]
    linear: pl.DataFrame
    fewshot: pl.DataFrame
    finetune: pl.DataFrame
    retrieval: pl.DataFrame
    scores: pl.DataFrame


def load_eval_dirs(eval_dirs: list[str | os.PathLike[str]]) -> EvalResults:
    """Read every ``eval_dir``'s tables (schema-checked); one method per directory, no method twice."""
    if not eval_dirs:
        raise ValueError("no eval directories given")
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in (*REQUIRED, *OPTIONAL)}
    methods: list[str] = []
    for directory in map(Path, eval_dirs):
        seen: set[str] = set()
        for name in (*REQUIRED, *OPTIONAL):
            path = directory / name
            if name in OPTIONAL and not path.exists():
                continue
            frame = pl.from_arrow(read_table(path, OUTPUT_FILES[name]))
            seen |= set(frame["method"].unique().to_list())
            frames[name].append(frame)
        if len(seen) != 1:
            raise ValueError(f"{directory}: expected the tables of one method, found {sorted(seen) or 'none'}")
        method = seen.pop()
        if method in methods:
            raise ValueError(f"{directory}: method {method!r} appears in two eval directories")
        methods.append(method)
    empty = {name: pl.from_arrow(OUTPUT_FILES[name].empty_table()) for name in frames}
    cat = {name: pl.concat(parts) if parts else empty[name] for name, parts in frames.items()}
    return EvalResults(tuple(methods), cat["linear.parquet"], cat["fewshot.parquet"], cat["finetune.parquet"],
                       cat["retrieval.parquet"], cat["scores.parquet"])


def aggregate(frame: pl.DataFrame, setting: str, value: str = "auroc") -> pl.DataFrame:
    """Mean over seeds per (method, setting, pathology): value, ci_low, ci_high, sd, n_seeds."""
    return (frame.group_by(["method", setting, "pathology"], maintain_order=True)
            .agg(pl.col(value).mean().alias("value"), pl.col("ci_low").mean(), pl.col("ci_high").mean(),
                 pl.col(value).std().fill_null(0.0).alias("sd"), pl.len().alias("n_seeds")))


def cell(row: dict | None) -> str:
    if row is None or row["value"] is None or math.isnan(row["value"]):
        return "n/a"
    return f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def lookup(agg: pl.DataFrame, setting: str) -> dict[tuple, dict]:
    return {(r["method"], r[setting], r["pathology"]): r for r in agg.iter_rows(named=True)}


def fmt_fraction(fraction: float) -> str:
    return f"{100 * fraction:g} %"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def best_statement(what: str, methods: tuple[str, ...], values: dict[str, dict | None]) -> str | None:
    """'At 1 %, igcl is best (0.81 [..]), ahead of convirt (0.78 [..]); their CIs overlap.'"""
    scored = [(m, values[m]) for m in methods if values.get(m) and not math.isnan(values[m]["value"])]
    if not scored:
        return None
    scored.sort(key=lambda mv: -mv[1]["value"])
    best, top = scored[0]
    if len(scored) == 1:
        return f"{what}, {best} (the only method with a score) reaches {cell(top)}."
    tied = [m for m, v in scored if round(v["value"], 3) == round(top["value"], 3)]
    if len(tied) > 1:
        rest = f", ahead of {scored[len(tied)][0]} ({cell(scored[len(tied)][1])})" if len(scored) > len(tied) else ""
        return f"{what}, {', '.join(tied)} tie at {top['value']:.3f}{rest}."
    second, runner = scored[1]
    overlap = runner["ci_high"] >= top["ci_low"]
    return (f"{what}, **{best}** is best ({cell(top)}), ahead of {second} ({cell(runner)}); their 95 % CIs "
            + ("overlap, so the difference is not clear at this test-set size." if overlap else "do not overlap."))


def retrieval_chance(results: EvalResults) -> float:
    """Expected precision@k of a random ranking: a candidate is of the query's class with probability n_c / N, so
    chance = Σ_c (n_c / N)² over the query classes (0.2 for five balanced classes)."""
    counts = (results.retrieval.filter(pl.col("pathology") != "mean").group_by("pathology")
              .agg(pl.col("n_pos").max()))["n_pos"].to_numpy().astype(float)
    return float(((counts / counts.sum()) ** 2).sum()) if counts.sum() else float("nan")


def findings(results: EvalResults, cfg: ReportConfig) -> list[str]:
    """Plain statements computed from the aggregated tables."""
    out = []
    lin = lookup(aggregate(results.linear, "fraction"), "fraction")
    fractions = sorted(results.linear["fraction"].unique().to_list())
    for fraction in fractions:
        s = best_statement(f"Linear probe at {fmt_fraction(fraction)} of the labels",
                           results.methods, {m: lin.get((m, fraction, "mean")) for m in results.methods})
        if s:
            out.append(s)
    if "random" in results.methods and len(results.methods) > 1 and fractions:
        low = fractions[0]
        floor = lin.get(("random", low, "mean"))
        if floor is not None:
            above = [m for m in results.methods if m != "random" and lin.get((m, low, "mean"))
                     and lin[(m, low, "mean")]["ci_low"] > floor["ci_high"]]
            out.append(f"At {fmt_fraction(low)}, " + (
                f"{', '.join(above)} beat{'s' if len(above) == 1 else ''} the random-weights floor "
                f"({floor['value']:.3f}) with non-overlapping CIs." if above else
                f"no method's CI lies above the random-weights floor ({floor['value']:.3f})."))
    for m in results.methods:
        gains = [(f, lin.get((m, f, "mean"))) for f in fractions]
        gains = [(f, g["value"]) for f, g in gains if g and not math.isnan(g["value"])]
        if len(gains) >= 2:
            out.append(f"{m}: mean AUROC goes from {gains[0][1]:.3f} at {fmt_fraction(gains[0][0])} to "
                       f"{gains[-1][1]:.3f} at {fmt_fraction(gains[-1][0])} of the labels.")
    few = lookup(aggregate(results.fewshot, "k"), "k")
    for k in sorted(results.fewshot["k"].unique().to_list()):
        s = best_statement(f"Few-shot with k = {k}", results.methods,
                           {m: few.get((m, k, "mean")) for m in results.methods})
        if s:
            out.append(s)
    ret = lookup(aggregate(results.retrieval, "k", "precision"), "k")
    with_retrieval = [m for m in results.methods if (m, cfg.retrieval_k, "mean") in ret]
    s = best_statement(f"Image→report retrieval precision@{cfg.retrieval_k}", tuple(with_retrieval),
                       {m: ret.get((m, cfg.retrieval_k, "mean")) for m in with_retrieval})
    if s:
        out.append(s + f" Chance for these query classes is {retrieval_chance(results):.3f}.")
    skipped = [m for m in results.methods if m not in with_retrieval]
    if skipped:
        out.append(f"Retrieval is n/a for {', '.join(skipped)} (no report encoder).")
    return out


def write_summary(results: EvalResults, cfg: ReportConfig, out: str | os.PathLike[str],
                  figures: dict[str, Path]) -> None:
    """``summary.md``: headline table, per-pathology tables, retrieval, figures, findings."""
    out = Path(out)
    lin = lookup(aggregate(results.linear, "fraction"), "fraction")
    few = lookup(aggregate(results.fewshot, "k"), "k")
    fin = lookup(aggregate(results.finetune, "fraction"), "fraction")
    ret = lookup(aggregate(results.retrieval, "k", "precision"), "k")
    fractions = sorted(results.linear["fraction"].unique().to_list())
    ft_fractions = sorted(results.finetune["fraction"].unique().to_list())
    ks = [k for k in cfg.fewshot_k if k in set(results.fewshot["k"].unique().to_list())]
    retrieval_ks = sorted(results.retrieval["k"].unique().to_list())
    seeds = sorted(results.linear["seed"].unique().to_list())

    header = (["method"] + [f"linear {fmt_fraction(f)}" for f in fractions] + [f"few-shot k={k}" for k in ks]
              + [f"fine-tune {fmt_fraction(f)}" for f in ft_fractions] + [f"retrieval P@{cfg.retrieval_k}"])
    rows = []
    for m in results.methods:
        rows.append([m] + [cell(lin.get((m, f, "mean"))) for f in fractions]
                    + [cell(few.get((m, k, "mean"))) for k in ks]
                    + [cell(fin.get((m, f, "mean"))) for f in ft_fractions]
                    + [cell(ret.get((m, cfg.retrieval_k, "mean")))])
    parts = [
        "# igcl results",
        "",
        f"Methods: {', '.join(results.methods)}. CheXpert competition pathologies "
        f"({', '.join(COMPETITION_PATHOLOGIES)}); probes train on the CheXpert train split and test on valid. "
        f"Every cell is the mean over {len(seeds)} seed(s) of the AUROC (retrieval: precision) with the mean of "
        "the seeds' 95 % bootstrap CIs in brackets.",
        "",
        "## Summary: mean AUROC over the five pathologies",
        "",
        markdown_table(header, rows),
        "",
        "## What the results show",
        "",
    ]
    parts += [f"- {s}" for s in findings(results, cfg)] or ["- No scores to compare."]
    parts += ["", "## Figures", ""]
    rel = {name: os.path.relpath(path, out.parent) for name, path in figures.items()}
    captions = {"label_efficiency": "Label efficiency: mean AUROC vs fraction of training labels (bands: 95 % CI)",
                "roc": f"ROC curves per pathology, linear probe at {fmt_fraction(cfg.roc_fraction)}, first seed",
                "retrieval": "Image→report retrieval precision@k (error bars: 95 % CI)"}
    for name, path in rel.items():
        parts += [f"![{captions.get(name, name)}]({path})", "", f"*{captions.get(name, name)}.*", ""]

    def pathology_table(title: str, table: dict, setting: str, value) -> None:
        parts.extend([f"### {title}", ""])
        body = [[m] + [cell(table.get((m, value, p))) for p in (*COMPETITION_PATHOLOGIES, "mean")]
                for m in results.methods]
        parts.extend([markdown_table(["method", *COMPETITION_PATHOLOGIES, "mean"], body), ""])

    parts += ["## Per-pathology AUROC", ""]
    for f in fractions:
        pathology_table(f"Linear probe, {fmt_fraction(f)} of the labels", lin, "fraction", f)
    for k in sorted(results.fewshot["k"].unique().to_list()):
        pathology_table(f"Few-shot, k = {k}", few, "k", k)
    for f in ft_fractions:
        pathology_table(f"Fine-tuning, {fmt_fraction(f)} of the labels", fin, "fraction", f)

    parts += ["## Image→report retrieval (MIMIC-CXR test split)", ""]
    body = [[m] + [cell(ret.get((m, k, "mean"))) for k in retrieval_ks] for m in results.methods]
    if retrieval_ks:
        parts.append(markdown_table(["method"] + [f"P@{k}" for k in retrieval_ks], body))
        counts = (results.retrieval.filter(pl.col("pathology") != "mean")
                  .group_by("pathology").agg(pl.col("n_pos").max()))
        per_class = {r["pathology"]: r["n_pos"] for r in counts.iter_rows(named=True)}
        parts += ["", "Queries per class: " + ", ".join(f"{p} {per_class.get(p, 0)}" for p in COMPETITION_PATHOLOGIES)
                  + "."]
    else:
        parts.append("n/a for every method (no method with a report encoder was evaluated).")
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(parts) + "\n", encoding="utf-8")
