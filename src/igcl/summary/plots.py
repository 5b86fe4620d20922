"""Report figures (matplotlib, Agg backend): ROC curves, label-efficiency curves, retrieval bars.

Each function takes the concatenated tables (:class:`igcl.summary.tables.EvalResults`) and writes one PNG
atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from igcl.summary.tables import EvalResults, aggregate, per_pretrain_seed, retrieval_chance  # noqa: E402
from igcl.io import atomic_path  # noqa: E402
from igcl.labels import COMPETITION_PATHOLOGIES  # noqa: E402


def _save(fig, path: str | os.PathLike[str], dpi: int) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def roc_figure(results: EvalResults, path, *, fraction: float, dpi: int) -> Path:
    """One panel per pathology, one curve per method: linear probe at ``fraction``, each method's first seed; the
    radiologists' operating points (``results.radiologists``) as black markers."""
    fig, axes = plt.subplots(1, len(COMPETITION_PATHOLOGIES), figsize=(4 * len(COMPETITION_PATHOLOGIES), 4.2),
                             squeeze=False)
    scores = results.scores.filter((pl.col("task") == "linear") & ((pl.col("fraction") - fraction).abs() < 1e-9))
    for ax, pathology in zip(axes[0], COMPETITION_PATHOLOGIES):
        for method in results.methods:
            mine = scores.filter((pl.col("method") == method) & (pl.col("pathology") == pathology))
            if mine.is_empty():
                continue
            mine = mine.filter(pl.col("seed") == mine["seed"].min())
            y, s = mine["label"].to_numpy(), mine["score"].to_numpy()
            if y.min() == y.max():
                continue
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=f"{method} ({roc_auc_score(y, s):.3f})")
        readers = (results.radiologists.filter(pl.col("pathology") == pathology)
                   .unique(["reader"], maintain_order=True).sort("reader"))
        for marker, r in zip("^sDvP*", readers.iter_rows(named=True)):
            ax.scatter([r["reader_fpr"]], [r["reader_tpr"]], marker=marker, color="black", s=30, zorder=3,
                       label=r["reader"])
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set(title=pathology, xlabel="false positive rate", xlim=(0, 1), ylim=(0, 1.01))
        ax.legend(fontsize=8, loc="lower right", title="AUROC", title_fontsize=8)
    axes[0][0].set_ylabel("true positive rate")
    fig.suptitle(f"ROC, linear probe at {100 * fraction:g} % of the labels, CheXpert {results.test_split}")
    return _save(fig, path, dpi)


def label_efficiency_figure(results: EvalResults, path, *, dpi: int) -> Path:
    """Mean AUROC vs label fraction per method (line: mean over seeds; band: mean of the seeds' 95 % CIs; small
    dots: each pretraining seed, averaged over sampling seeds, when a method has several); fine-tuning dashed."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = {m: f"C{i}" for i, m in enumerate(results.methods)}
    for frame, style, suffix in ((results.linear, "-", "linear"), (results.finetune, "--", "fine-tune")):
        if frame.is_empty():
            continue
        agg = aggregate(frame, "fraction").filter(pl.col("pathology") == "mean").sort("fraction")
        for method in results.methods:
            mine = agg.filter(pl.col("method") == method)
            if mine.is_empty():
                continue
            x = mine["fraction"].to_numpy() * 100
            ax.plot(x, mine["value"].to_numpy(), style, marker="o", color=colors[method], label=f"{method} {suffix}")
            ax.fill_between(x, mine["ci_low"].to_numpy(), mine["ci_high"].to_numpy(), color=colors[method],
                            alpha=0.15)
            seeds = per_pretrain_seed(frame.filter(pl.col("method") == method), "fraction").filter(
                pl.col("pathology") == "mean")
            if seeds["pretrain_seed"].n_unique() > 1:
                ax.scatter(seeds["fraction"].to_numpy() * 100, seeds["value"].to_numpy(), s=10,
                           color=colors[method], alpha=0.7, linewidths=0)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(xscale="log", xlabel="labelled training data (% of patients)", ylabel="mean AUROC (5 pathologies)",
           title="Label efficiency")
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def retrieval_figure(results: EvalResults, path, *, dpi: int) -> Path:
    """Grouped bars of precision@k per method (mean over seeds, error bars: mean CI); n/a methods labelled."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    agg = aggregate(results.retrieval, "k", "precision").filter(pl.col("pathology") == "mean").sort("k")
    ks = agg["k"].unique().sort().to_list()
    width = 0.8 / max(len(ks), 1)
    for j, k in enumerate(ks):
        values, lows, highs = [], [], []
        for method in results.methods:
            row = agg.filter((pl.col("method") == method) & (pl.col("k") == k))
            values.append(row["value"][0] if len(row) else np.nan)
            lows.append(row["ci_low"][0] if len(row) else np.nan)
            highs.append(row["ci_high"][0] if len(row) else np.nan)
        x = np.arange(len(results.methods)) + (j - (len(ks) - 1) / 2) * width
        values, lows, highs = map(np.asarray, (values, lows, highs))
        ax.bar(x, np.nan_to_num(values), width, label=f"P@{k}",
               yerr=np.nan_to_num(np.stack([values - lows, highs - values])), capsize=3)
    for i, method in enumerate(results.methods):
        if agg.filter(pl.col("method") == method).is_empty():
            ax.text(i, 0.02, "n/a", ha="center", va="bottom")
    chance = retrieval_chance(results)
    if np.isfinite(chance):
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label=f"chance ({chance:.2f})")
    ax.set_xticks(np.arange(len(results.methods)), results.methods)
    ax.set(ylim=(0, 1), ylabel="precision@k", title="Image→report retrieval (MIMIC test)")
    if ks:
        ax.legend(fontsize=8)
    return _save(fig, path, dpi)


FIGURES = {"label_efficiency": label_efficiency_figure, "roc": roc_figure, "retrieval": retrieval_figure}
