"""Collect every (method, pretraining seed)'s evaluate tables and write ``results/summary.md``.

Aggregation over seeds, in two steps: for each (method, pretraining seed, task, setting, pathology) the AUROC, CI
bounds and retrieval precision are averaged over the *sampling* seeds; then over the pretraining seeds: the cell's
value is their mean, the interval the mean of their bootstrap CI bounds, and ``sd`` the sample standard
deviation between pretraining seeds (0 with one seed). Cells read ``0.812 [0.781, 0.843]``, or with several
pretraining seeds ``0.812 ±0.012 [0.781, 0.843]``; a method without a report encoder reads ``n/a``.

Which method is better is never read off overlapping intervals: every statement that ranks two methods cites the
paired difference of :mod:`igcl.summary.compare` (``results/comparisons.parquet``) and calls a difference only
when its CI excludes 0 ("not separable" otherwise).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from igcl.summary.compare import verdict_sentence
from igcl.summary.config import ReportConfig
from igcl.evaluate.results import OUTPUT_FILES
from igcl.io import atomic_path
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.methods import Method, get_method
from igcl.contracts.schema import read_table

log = logging.getLogger(__name__)

REQUIRED = ("linear.parquet", "fewshot.parquet", "retrieval.parquet", "scores.parquet")
# finetune only when enabled; the other three are absent from the tables of evaluations older than them
OPTIONAL = ("finetune.parquet", "zeroshot.parquet", "thresholds.parquet", "radiologists.parquet")


@dataclass(frozen=True)
class EvalResults:
    """All runs' tables concatenated (polars DataFrames with the schemas of :mod:`igcl.evaluate.results`);
    ``methods`` in the order first seen, ``runs`` every (method, pretraining seed)."""

    methods: tuple[str, ...]
    runs: tuple[tuple[str, int], ...]
    linear: pl.DataFrame
    fewshot: pl.DataFrame
    finetune: pl.DataFrame
    retrieval: pl.DataFrame
    scores: pl.DataFrame
    bases: dict[str, str] = dataclasses.field(default_factory=dict)  # variant name -> its registry method
    zeroshot: pl.DataFrame | None = None
    thresholds: pl.DataFrame | None = None
    radiologists: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        for name in ("zeroshot", "thresholds", "radiologists"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, pl.from_arrow(OUTPUT_FILES[f"{name}.parquet"].empty_table()))

    @property
    def test_split(self) -> str:
        """The CheXpert split every score was tested on (``test`` or ``valid``); ValueError when runs disagree."""
        splits = sorted(set(self.scores["split"].drop_nulls().unique().to_list()))
        if len(splits) > 1:
            raise ValueError(f"the runs were tested on different CheXpert splits {splits}: evaluate them alike")
        return splits[0] if splits else "valid"

    def entry(self, name: str) -> Method:
        """The registry entry behind a run name (a method, or a config variant of one)."""
        return get_method(self.bases.get(name, name))


def load_eval_dirs(eval_dirs: list[str | os.PathLike[str]], bases: dict[str, str] | None = None) -> EvalResults:
    """Read every ``eval_dir``'s tables (schema-checked); one (method, pretraining seed) per directory, none
    twice. ``bases``: the registry method of each variant name among them."""
    if not eval_dirs:
        raise ValueError("no eval directories given")
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in (*REQUIRED, *OPTIONAL)}
    runs: list[tuple[str, int]] = []
    for directory in map(Path, eval_dirs):
        seen: set[tuple[str, int]] = set()
        for name in (*REQUIRED, *OPTIONAL):
            path = directory / name
            if name in OPTIONAL and not path.exists():
                continue
            frame = pl.from_arrow(read_table(path, OUTPUT_FILES[name]))
            seen |= set(frame.select("method", "pretrain_seed").unique().iter_rows())
            frames[name].append(frame)
        if len(seen) != 1:
            raise ValueError(f"{directory}: expected the tables of one (method, pretraining seed), found "
                             f"{sorted(seen) or 'none'}")
        run = seen.pop()
        if run in runs:
            raise ValueError(f"{directory}: method {run[0]!r} at pretraining seed {run[1]} appears in two eval "
                             "directories")
        runs.append(run)
    empty = {name: pl.from_arrow(OUTPUT_FILES[name].empty_table()) for name in frames}
    cat = {name: pl.concat(parts) if parts else empty[name] for name, parts in frames.items()}
    methods = tuple(dict.fromkeys(method for method, _ in runs))
    results = EvalResults(methods, tuple(runs), cat["linear.parquet"], cat["fewshot.parquet"],
                          cat["finetune.parquet"], cat["retrieval.parquet"], cat["scores.parquet"], dict(bases or {}),
                          zeroshot=cat["zeroshot.parquet"], thresholds=cat["thresholds.parquet"],
                          radiologists=cat["radiologists.parquet"])
    for method in methods:
        results.entry(method)  # an unknown name (no method, no variant) fails here, naming it
    return results


def per_pretrain_seed(frame: pl.DataFrame, setting: str, value: str = "auroc") -> pl.DataFrame:
    """Mean over sampling seeds per (method, pretrain_seed, setting, pathology): value, ci_low, ci_high."""
    return (frame.group_by(["method", "pretrain_seed", setting, "pathology"], maintain_order=True)
            .agg(pl.col(value).mean().alias("value"), pl.col("ci_low").mean(), pl.col("ci_high").mean()))


def aggregate(frame: pl.DataFrame, setting: str, value: str = "auroc") -> pl.DataFrame:
    """Per (method, setting, pathology), over pretraining seeds (each first averaged over sampling seeds): value,
    ci_low, ci_high (means), sd (between pretraining seeds; 0 with one), n_seeds (pretraining seeds)."""
    return (per_pretrain_seed(frame, setting, value).group_by(["method", setting, "pathology"], maintain_order=True)
            .agg(pl.col("value").mean(), pl.col("ci_low").mean(), pl.col("ci_high").mean(),
                 pl.col("value").std().fill_null(0.0).alias("sd"), pl.len().alias("n_seeds")))


def cell(row: dict | None, sign: str = "") -> str:
    """``0.812 ±0.012 [0.781, 0.843]`` (the ± only with several pretraining seeds); ``sign="+"`` for differences."""
    if row is None or row["value"] is None or math.isnan(row["value"]):
        return "n/a"
    spread = f" ±{row['sd']:.3f}" if row.get("n_seeds", 1) > 1 else ""
    return f"{row['value']:{sign}.3f}{spread} [{row['ci_low']:{sign}.3f}, {row['ci_high']:{sign}.3f}]"


def lookup(agg: pl.DataFrame, setting: str) -> dict[tuple, dict]:
    return {(r["method"], r[setting], r["pathology"]): r for r in agg.iter_rows(named=True)}


def fmt_fraction(fraction: float) -> str:
    return f"{100 * fraction:g} %"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def comparison_lookup(comparisons: pl.DataFrame | None) -> dict[tuple, dict]:
    """(task, fraction or k, method_a, method_b, pathology) -> comparison row, both orders (the reversed row with
    the difference and CI negated)."""
    table: dict[tuple, dict] = {}
    if comparisons is None:
        return table
    for r in comparisons.iter_rows(named=True):
        setting = r["k"] if r["task"] == "fewshot" else r["fraction"]
        table[(r["task"], setting, r["method_a"], r["method_b"], r["pathology"])] = r
        flipped = {**r, "method_a": r["method_b"], "method_b": r["method_a"], "diff": -r["diff"],
                   "ci_low": -r["ci_high"], "ci_high": -r["ci_low"]}
        if r["separable"]:
            flipped["verdict"] = f"{r['method_a']} better" if r["ci_low"] > 0 else f"{r['method_b']} better"
        table[(r["task"], setting, r["method_b"], r["method_a"], r["pathology"])] = flipped
    return table


def best_statement(what: str, methods: tuple[str, ...], values: dict[str, dict | None],
                   paired: dict[tuple[str, str], dict] | None = None) -> str | None:
    """'At 1 %, igcl has the highest mean (0.81 [..]), ahead of convirt (0.78 [..]); paired difference +0.030
    [−0.010, +0.070]: not separable.' ``paired[(a, b)]`` is the comparison row of a − b (None: no comparison)."""
    scored = [(m, values[m]) for m in methods if values.get(m) and not math.isnan(values[m]["value"])]
    if not scored:
        return None
    scored.sort(key=lambda mv: -mv[1]["value"])
    best, top = scored[0]
    if len(scored) == 1:
        return f"{what}, {best} (the only method with a score) reaches {cell(top)}."
    second, runner = scored[1]
    head = f"{what}, {best} has the highest value ({cell(top)}), ahead of {second} ({cell(runner)})"
    row = (paired or {}).get((best, second))
    if row is None:
        return head + "; no paired comparison, so no difference is called."
    return head + f"; paired difference {verdict_sentence(row).split(': ', 1)[1]}."


def retrieval_chance(results: EvalResults) -> float:
    """Expected precision@k of a random ranking: a candidate is of the query's class with probability n_c / N, so
    chance = Σ_c (n_c / N)² over the query classes (0.2 for five balanced classes)."""
    counts = (results.retrieval.filter(pl.col("pathology") != "mean").group_by("pathology")
              .agg(pl.col("n_pos").max()))["n_pos"].to_numpy().astype(float)
    return float(((counts / counts.sum()) ** 2).sum()) if counts.sum() else float("nan")


def paired_for(pairs: dict[tuple, dict], task: str, setting) -> dict[tuple[str, str], dict]:
    """The mean-AUROC comparisons of one (task, setting), keyed (method_a, method_b)."""
    return {(a, b): r for (t, v, a, b, p), r in pairs.items() if t == task and v == setting and p == "mean"}


def baseline_statements(results: EvalResults, pairs: dict[tuple, dict], fraction: float) -> list[str]:
    """Each learned method against each non-learned baseline at one label fraction (paired, mean AUROC)."""
    baselines = [m for m in results.methods if results.entry(m).baseline]
    learned = [m for m in results.methods if not results.entry(m).baseline]
    out = []
    for base in baselines:
        rows = [(m, pairs.get(("linear", fraction, m, base, "mean"))) for m in learned]
        rows = [(m, r) for m, r in rows if r is not None]
        if not rows:
            continue
        beat = [m for m, r in rows if r["separable"] and r["diff"] > 0]
        parts = "; ".join(verdict_sentence(r) for _, r in rows)
        tally = (f"all {len(rows)} learned methods beat {base}" if len(beat) == len(rows) else
                 f"{len(beat)} of {len(rows)} learned methods beat {base}" + (f" ({', '.join(beat)})" if beat else ""))
        out.append(f"Linear probe at {fmt_fraction(fraction)}: {tally} (paired 95 % CI above 0): {parts}.")
    return out


def findings(results: EvalResults, cfg: ReportConfig, comparisons: pl.DataFrame | None = None) -> list[str]:
    """Plain statements computed from the aggregated tables and the paired comparisons."""
    out = []
    pairs = comparison_lookup(comparisons)
    lin = lookup(aggregate(results.linear, "fraction"), "fraction")
    fractions = sorted(results.linear["fraction"].unique().to_list())
    for fraction in fractions:
        s = best_statement(f"Linear probe at {fmt_fraction(fraction)} of the labels",
                           results.methods, {m: lin.get((m, fraction, "mean")) for m in results.methods},
                           paired_for(pairs, "linear", fraction))
        if s:
            out.append(s)
    for fraction in fractions:
        out += baseline_statements(results, pairs, fraction)
    for m in results.methods:
        gains = [(f, lin.get((m, f, "mean"))) for f in fractions]
        gains = [(f, g["value"]) for f, g in gains if g and not math.isnan(g["value"])]
        if len(gains) >= 2:
            out.append(f"{m}: mean AUROC goes from {gains[0][1]:.3f} at {fmt_fraction(gains[0][0])} to "
                       f"{gains[-1][1]:.3f} at {fmt_fraction(gains[-1][0])} of the labels.")
    few = lookup(aggregate(results.fewshot, "k"), "k")
    for k in sorted(results.fewshot["k"].unique().to_list()):
        s = best_statement(f"Few-shot with k = {k}", results.methods,
                           {m: few.get((m, k, "mean")) for m in results.methods}, paired_for(pairs, "fewshot", k))
        if s:
            out.append(s)
    ret = lookup(aggregate(results.retrieval, "k", "precision"), "k")
    with_retrieval = [m for m in results.methods if (m, cfg.retrieval_k, "mean") in ret]
    s = best_statement(f"Image→report retrieval precision@{cfg.retrieval_k}", tuple(with_retrieval),
                       {m: ret.get((m, cfg.retrieval_k, "mean")) for m in with_retrieval}, {})
    if s:
        out.append(s + f" Chance for these query classes is {retrieval_chance(results):.3f}.")
    skipped = [m for m in results.methods if m not in with_retrieval]
    if skipped:
        out.append(f"Retrieval is n/a for {', '.join(skipped)} (no report encoder).")
    return out


def comparison_table(results: EvalResults, comparisons: pl.DataFrame, fractions: list[float]) -> list[str]:
    """Markdown rows: every pair's paired mean-AUROC difference per linear-probe fraction, with its verdict."""
    pairs = comparison_lookup(comparisons)
    body = []
    for i, a in enumerate(results.methods):
        for b in results.methods[i + 1:]:
            cells = []
            for f in fractions:
                r = pairs.get(("linear", f, a, b, "mean"))
                cells.append("n/a" if r is None else verdict_sentence(r).split(": ", 1)[1])
            body.append([f"{a} − {b}"] + cells)
    return [markdown_table(["difference"] + [f"linear {fmt_fraction(f)}" for f in fractions], body)]


def write_summary(results: EvalResults, cfg: ReportConfig, out: str | os.PathLike[str],
                  figures: dict[str, Path], comparisons: pl.DataFrame | None = None) -> None:
    """``summary.md``: headline table, findings, paired comparisons, figures, per-pathology tables, retrieval."""
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
    pretrain_seeds = {m: sorted({s for mm, s in results.runs if mm == m}) for m in results.methods}

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
        f"({', '.join(COMPETITION_PATHOLOGIES)}); probes train on the CheXpert train split and test on "
        + ("the CheXpert test split (thresholds of the thresholded metrics are chosen on valid). "
           if results.test_split == "test" else
           "valid (the data have no CheXpert test split, so no thresholded metric is reported). ")
        + 
        f"Every cell is the mean over {len(seeds)} sampling seed(s) and the pretraining seeds of the AUROC "
        "(retrieval: precision), ± the standard deviation between pretraining seeds where there are several, "
        "with the mean of the 95 % bootstrap CIs in brackets. Pretraining seeds: "
        + "; ".join(f"{m} {', '.join(map(str, s))}" + (" (not seeded: one encoder)" if not results.entry(m).seeded
                                                       else "") for m, s in pretrain_seeds.items()) + ".",
        "",
        "## Summary: mean AUROC over the five pathologies",
        "",
        markdown_table(header, rows),
        "",
        "## What the results show",
        "",
    ]
    parts += [f"- {s}" for s in findings(results, cfg, comparisons)] or ["- No scores to compare."]
    if comparisons is not None and len(results.methods) > 1:
        parts += ["", "## Paired differences of mean AUROC (linear probe)", "",
                  "Each cell is the difference of the two methods' mean AUROC with a paired 95 % bootstrap CI: the "
                  "same test images resampled for both, and each method's pretraining seeds resampled "
                  "(results/comparisons.parquet has every task, setting and pathology). A difference is called "
                  "only when its CI excludes 0.", ""]
        parts += comparison_table(results, comparisons, fractions)
    parts += zeroshot_section(results, comparisons)
    parts += thresholds_section(results, cfg)
    parts += radiologists_section(results, cfg)
    parts += ["", "## Figures", ""]
    rel = {name: os.path.relpath(path, out.parent) for name, path in figures.items()}
    captions = {"label_efficiency": "Label efficiency: mean AUROC vs fraction of training labels (bands: 95 % CI)",
                "roc": f"ROC curves per pathology, linear probe at {fmt_fraction(cfg.roc_fraction)}, first seed"
                       + ("; black markers: the readers' operating points" if not results.radiologists.is_empty()
                          else ""),
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


def zeroshot_section(results: EvalResults, comparisons: pl.DataFrame | None) -> list[str]:
    """Zero-shot AUROC per pathology and image→prompt accuracy, one row per method (n/a: no report encoder)."""
    frame = results.zeroshot
    parts = ["", f"## Zero-shot classification (prompt pairs, CheXpert {results.test_split})", ""]
    if frame.is_empty():
        return parts + ["n/a for every method (zero-shot needs a report encoder, or evaluate.zeroshot is off)."]
    agg = lookup(aggregate(frame, "metric", "value"), "metric")
    chance = frame.filter(pl.col("metric") == "accuracy")["chance"].drop_nulls()
    body = [[m] + [cell(agg.get((m, "auroc", p))) for p in (*COMPETITION_PATHOLOGIES, "mean")]
            + [cell(agg.get((m, "accuracy", "all")))] for m in results.methods]
    parts += ["No label is used: each image scores softmax(image·positive, image·negative) over the prompt pair of a "
              "pathology (CheXzero's rule; an ensemble averages several pairs). igcl embeds its prompts as the graphs "
              "its own parser makes of them (graph prompts). Accuracy: image→prompt assignment on the test images with "
              "exactly one of the five pathologies" + (f" (chance {chance.mean():.3f})." if chance.len() else "."), "",
              markdown_table(["method", *[f"AUROC {p}" for p in COMPETITION_PATHOLOGIES], "AUROC mean",
                              "accuracy"], body), ""]
    pairs = comparison_lookup(comparisons)
    zero = {(a, b): r for (t, v, a, b, p), r in pairs.items() if t == "zeroshot" and p == "mean"}
    scored = [m for m in results.methods if (m, "auroc", "mean") in agg]
    s = best_statement("Zero-shot mean AUROC", tuple(scored), {m: agg.get((m, "auroc", "mean")) for m in scored},
                       zero)
    if s:
        parts += [f"- {s}"]
    prompts = frame.select("method", "prompts").unique(maintain_order=True)
    parts += [f"- Prompts of {r['method']}: {r['prompts']}." for r in prompts.iter_rows(named=True)]
    return parts


def thresholds_section(results: EvalResults, cfg: ReportConfig) -> list[str]:
    """Mean MCC / F1 / sensitivity / specificity at thresholds chosen on valid, linear probe and zero-shot."""
    frame = results.thresholds
    if frame.is_empty():
        return ["", "## Thresholded metrics", "",
                "Not computed: they need a CheXpert test split, with thresholds chosen on valid "
                f"(these runs test on {results.test_split})."]
    objectives = {"youden": "Youden's J (sensitivity + specificity − 1)", "f1": "F1"}
    rule = ", ".join(objectives.get(r, r) for r in sorted(frame["rule"].unique().to_list()))
    linear = frame.filter((pl.col("task") == "linear") & ((pl.col("fraction") - cfg.roc_fraction).abs() < 1e-9))
    zero = frame.filter(pl.col("task") == "zeroshot")
    metrics = ("mcc", "f1", "sensitivity", "specificity")
    parts = ["", "## Thresholded metrics (CheXpert test, thresholds chosen on valid)", "",
             f"Mean over the five pathologies; one threshold per pathology maximises {rule} on the valid split and "
             "is then applied to test (results/eval/*/*/thresholds.parquet has each pathology).", ""]
    for title, part in ((f"linear probe at {fmt_fraction(cfg.roc_fraction)} of the labels", linear),
                        ("zero-shot", zero)):
        if part.is_empty():
            continue
        agg = lookup(aggregate(part, "metric", "value"), "metric")
        body = [[m] + [cell(agg.get((m, metric, "mean"))) for metric in metrics]
                for m in results.methods if (m, "mcc", "mean") in agg]
        parts += [f"### {title[0].upper() + title[1:]}", "", markdown_table(["method", "MCC", "F1", "sensitivity",
                                                                             "specificity"], body), ""]
    return parts


def radiologists_section(results: EvalResults, cfg: ReportConfig) -> list[str]:
    """Each reader's operating point against each method's ROC at the same FPR (linear probe at roc_fraction)."""
    frame = results.radiologists
    if frame.is_empty():
        return ["", "## Radiologist operating points", "",
                "None: no reader file applies to these data (evaluate.radiologists)."]
    sources = "; ".join(sorted(frame["source"].unique().to_list()))
    linear = frame.filter((pl.col("task") == "linear") & ((pl.col("fraction") - cfg.roc_fraction).abs() < 1e-9))
    parts = ["", "## Radiologist operating points", "",
             f"Readers: {sources}. Each cell is the method's sensitivity on its ROC at the reader's false positive "
             f"rate minus the reader's sensitivity (linear probe at {fmt_fraction(cfg.roc_fraction)}; zero-shot "
             "rows are in radiologists.parquet), with a bootstrap CI over the test images that holds the reader's "
             "point fixed. Positive: the model is more sensitive than the reader at the reader's specificity.", ""]
    if linear.is_empty():
        return parts + ["No linear-probe rows at that fraction."]
    table = lookup(aggregate(linear, "reader", "diff"), "reader")
    points = (linear.unique(["reader", "pathology"], maintain_order=True)
              .select("reader", "pathology", "reader_fpr", "reader_tpr"))
    methods = [m for m in results.methods if any(k[0] == m for k in table)]
    order = {p: i for i, p in enumerate(COMPETITION_PATHOLOGIES)}
    body = []
    for r in sorted(points.iter_rows(named=True), key=lambda r: (order[r["pathology"]], r["reader"])):
        body.append([r["pathology"], r["reader"], f"{r['reader_fpr']:.3f} / {r['reader_tpr']:.3f}"]
                    + [cell(table.get((m, r["reader"], r["pathology"])), sign="+") for m in methods])
    parts += [markdown_table(["pathology", "reader", "reader FPR / TPR", *methods], body), ""]
    for m in methods:
        mine = [table[k] for k in table if k[0] == m]
        above = sum(1 for r in mine if r["ci_low"] > 0)
        below = sum(1 for r in mine if r["ci_high"] < 0)
        parts.append(f"- {m}: more sensitive than the reader at the reader's FPR for {above} of {len(mine)} "
                     f"operating points, less sensitive for {below}, not separable for {len(mine) - above - below} "
                     "(CI excluding 0).")
    return parts

