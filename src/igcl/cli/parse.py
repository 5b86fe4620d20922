"""``igcl parse``: radiology reports -> RadGraph-schema graph shards and graph-derived labels.

    igcl parse --settings '{"source": "spacy", "rows_per_shard": 20000}' \\
        --input data/manifests/pretrain.parquet --out data/graphs --threads 2 --log logs/parse/parse.log

``--input`` is a manifest, a directory of .txt reports, a CSV/Parquet table with ``study_id,text`` columns, or (with
``source: radgraph_json``) RadGraph's JSON. See :mod:`igcl.reports.stage` for the outputs.
"""

from __future__ import annotations

import argparse
import logging

from igcl.config import from_json
from igcl.logging_utils import setup_logging
from igcl.reports.stage import GraphsConfig, ParseInputs, ParseOutputs, run_parse

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="igcl parse", description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default="{}", help="the config's graphs: section as JSON")
    parser.add_argument("--runtime", default="{}",
                          help="execution keys of the section as JSON (workers, device, ...; never rerun a stage)")
    parser.add_argument("--input", required=True,
                        help="manifest / table (.parquet), table (.csv), directory of .txt, or RadGraph .json")
    parser.add_argument("--out", required=True, help="output directory (replaced whole, atomically)")
    parser.add_argument("--threads", type=int, default=1, help="worker processes for parsing (default 1)")
    parser.add_argument("--log", default=None, help="log file (appended)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(GraphsConfig, args.settings, runtime=args.runtime, where="graphs")
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    run_parse(cfg, ParseInputs(args.input), ParseOutputs(args.out), threads=args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
