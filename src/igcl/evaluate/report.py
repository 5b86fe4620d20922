"""The report stage: every method's evaluate tables → figures + ``summary.md``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from igcl.evaluate.config import ReportConfig
from igcl.evaluate.plots import label_efficiency_figure, retrieval_figure, roc_figure
from igcl.evaluate.summary import load_eval_dirs, write_summary

log = logging.getLogger(__name__)

FIGURE_FILES = {"label_efficiency": "label_efficiency.png", "roc": "roc.png", "retrieval": "retrieval.png"}


def build_report(cfg: ReportConfig, eval_dirs: list[str | os.PathLike[str]], out: str | os.PathLike[str],
                 figures_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the figures (``FIGURE_FILES`` in ``figures_dir``) and then ``out``; returns the figure paths."""
    results = load_eval_dirs(eval_dirs)
    log.info("report: %d methods (%s)", len(results.methods), ", ".join(results.methods))
    figures_dir = Path(figures_dir)
    paths = {name: figures_dir / file for name, file in FIGURE_FILES.items()}
    label_efficiency_figure(results, paths["label_efficiency"], dpi=cfg.dpi)
    roc_figure(results, paths["roc"], fraction=cfg.roc_fraction, dpi=cfg.dpi)
    retrieval_figure(results, paths["retrieval"], dpi=cfg.dpi)
    write_summary(results, cfg, out, paths)
    return paths
