"""``igcl ingest``: read a MIMIC-CXR-JPG or CheXpert tree into a Parquet manifest (MANIFEST_SCHEMA) + sidecar.

    igcl ingest --settings '{"on_missing": "error"}' --format mimic --root DIR [--reports-root DIR] \\
        --out data/manifests/pretrain.parquet --log logs/ingest/pretrain.log
    igcl ingest --settings '{}' --format chexpert --root DIR --out data/manifests/eval.parquet

Exit status 0 on success; 1 when the data do not match the official layout (the log names file and row, and no
manifest is written); 2 for bad arguments or settings.
"""

from __future__ import annotations

import argparse
import logging

from igcl.config import from_json
from igcl.data.ingest import FORMATS, IngestInputs, IngestOutputs, run_ingest
from igcl.data.manifest import IngestConfig, IngestError
from igcl.logging_utils import setup_logging

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="{}", help="the config's ingest section as JSON")
    parser.add_argument("--format", required=True, choices=FORMATS, help="layout of --root")
    parser.add_argument("--root", required=True, help="data set root (MIMIC-CXR-JPG 2.0.0 or CheXpert v1.0)")
    parser.add_argument("--reports-root", default=None,
                        help="MIMIC only: folder holding files/pXX/pSUBJECT/sSTUDY.txt (default: --root)")
    parser.add_argument("--out", required=True, help="manifest Parquet file to write")
    parser.add_argument("--log", default=None, help="log file (appended)")
    args = parser.parse_args(argv)
    if args.format == "chexpert" and args.reports_root is not None:
        parser.error("--reports-root applies to --format mimic only (CheXpert ships no reports)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    try:
        config = from_json(IngestConfig, args.settings, where="ingest")
    except ValueError as err:
        logger.error("%s", err)
        return 2
    try:
        run_ingest(config, IngestInputs(args.format, args.root, args.reports_root), IngestOutputs(args.out))
    except IngestError as err:
        logger.error("ingest failed: %s", err)
        return 1
    return 0
