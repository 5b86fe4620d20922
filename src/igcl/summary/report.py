"""The report stage: every (method, pretraining seed)'s evaluate tables → paired comparisons
(``comparisons.parquet``), figures and ``summary.md``."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from igcl.config import to_dict
from igcl.contracts.schema import write_table
from igcl.io import Sidecar, read_sidecar, write_sidecar
from igcl.summary.compare import COMPARISONS_SCHEMA, compare_methods
from igcl.summary.config import ReportConfig
from igcl.summary.plots import label_efficiency_figure, retrieval_figure, roc_figure
from igcl.summary.tables import load_eval_dirs, write_summary

log = logging.getLogger(__name__)

FIGURE_FILES = {"label_efficiency": "label_efficiency.png", "roc": "roc.png", "retrieval": "retrieval.png"}


def build_report(cfg: ReportConfig, eval_dirs: list[str | os.PathLike[str]], out: str | os.PathLike[str],
                 figures_dir: str | os.PathLike[str], comparisons_out: str | os.PathLike[str] | None = None,
                 bases: dict[str, str] | None = None) -> dict[str, Path]:
    """Write ``comparisons_out`` (when given), the figures (``FIGURE_FILES`` in ``figures_dir``) and then
    ``out``; returns the figure paths. ``bases``: each config variant's registry method."""
    results = load_eval_dirs(eval_dirs, bases)
    log.info("report: %d methods (%s), %d runs", len(results.methods), ", ".join(results.methods),
             len(results.runs))
    baselines = [m for m in results.methods if results.entry(m).baseline]
    comparisons = compare_methods(results.scores, results.methods, baselines=baselines,
                                  n_bootstrap=cfg.comparison_bootstrap, level=cfg.ci_level)
    log.info("report: %d paired comparison rows", len(comparisons))
    if comparisons_out is not None:
        write_table(comparisons.to_arrow().cast(COMPARISONS_SCHEMA), comparisons_out, COMPARISONS_SCHEMA)
        write_sidecar(comparisons_out, config={"comparison_bootstrap": cfg.comparison_bootstrap,
                                               "ci_level": cfg.ci_level},
                      rows={"comparisons": len(comparisons)}, extra={"runs": [list(r) for r in results.runs]})
    figures_dir = Path(figures_dir)
    paths = {name: figures_dir / file for name, file in FIGURE_FILES.items()}
    label_efficiency_figure(results, paths["label_efficiency"], dpi=cfg.dpi)
    roc_figure(results, paths["roc"], fraction=cfg.roc_fraction, dpi=cfg.dpi)
    retrieval_figure(results, paths["retrieval"], dpi=cfg.dpi)
    write_summary(results, cfg, out, paths, comparisons)
    return paths


@dataclass(frozen=True)
class ReportInputs:
    eval_dirs: tuple[str | os.PathLike[str], ...]  # results/eval/{method}/seed{N}, one per run
    bases: dict[str, str] = field(default_factory=dict)  # each config variant's registry method


@dataclass(frozen=True)
class ReportOutputs:
    summary: str | os.PathLike[str]                    # results/summary.md
    figures: str | os.PathLike[str]                    # results/figures/ (FIGURE_FILES)
    comparisons: str | os.PathLike[str] | None = None  # results/comparisons.parquet (None: not written)


def run_report(config: ReportConfig, inputs: ReportInputs, outputs: ReportOutputs) -> Sidecar:
    """The report stage (:func:`build_report`), then summary.md's sidecar (the runs it summarises); returns it."""
    started = time.perf_counter()
    figures = build_report(config, list(inputs.eval_dirs), outputs.summary, outputs.figures, outputs.comparisons,
                           dict(inputs.bases))
    write_sidecar(outputs.summary, config=to_dict(config), rows={"runs": len(inputs.eval_dirs)},
                  seconds=time.perf_counter() - started,
                  extra={"eval_dirs": [str(d) for d in inputs.eval_dirs],
                         "figures": sorted(map(str, figures.values()))})
    return read_sidecar(outputs.summary)
