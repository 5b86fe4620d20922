"""``igcl report``: every method's evaluation side by side in ``summary.md``, with figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from igcl.config import from_json
from igcl.summary.config import ReportConfig
from igcl.summary.report import ReportInputs, ReportOutputs, run_report
from igcl.logging_utils import setup_logging


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl report", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config.yaml 'report' section as JSON")
    parser.add_argument("--eval-dirs", required=True, nargs="+", type=Path,
                        help="results/eval/{method}/seed{N} directories")
    parser.add_argument("--out", required=True, type=Path, help="the summary markdown file")
    parser.add_argument("--bases", default="{}",
                        help="JSON {run name: registry method} for config variants (e.g. igcl_rgcn_mean: igcl)")
    parser.add_argument("--comparisons", type=Path, default=None,
                        help="where to write the paired comparisons table (results/comparisons.parquet)")
    parser.add_argument("--figures", required=True, type=Path, help="directory for the figure PNGs")
    parser.add_argument("--log", type=Path, default=None, help="log file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(ReportConfig, args.settings, where="report")
    bases = json.loads(args.bases)
    if not isinstance(bases, dict):
        raise ValueError(f"--bases: expected a JSON object, got {args.bases!r}")
    run_report(cfg, ReportInputs(tuple(args.eval_dirs), bases),
               ReportOutputs(summary=args.out, figures=args.figures, comparisons=args.comparisons))
    return 0
