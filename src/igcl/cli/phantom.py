"""``igcl phantom``: write the phantom MIMIC-CXR-JPG tree, CheXpert-v1.0-small tree, or both.

The ``phantom`` rule runs one job per tree, so that changing the CheXpert size does not rewrite the pretraining data
(a tree is the same written alone or with the other)."""

from __future__ import annotations

import argparse
import logging

from igcl.config import from_json
from igcl.data.phantom import PhantomConfig, PhantomOutputs, run_phantom
from igcl.logging_utils import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl phantom", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config's phantom section as a JSON object")
    parser.add_argument("--mimic-out", default=None, help="MIMIC-CXR-JPG tree to write (directory)")
    parser.add_argument("--chexpert-out", default=None, help="CheXpert-v1.0-small tree to write (directory)")
    parser.add_argument("--threads", type=int, default=1, help="worker processes (output is the same for any)")
    parser.add_argument("--log", default=None, help="log file")
    args = parser.parse_args(argv)
    if args.mimic_out is None and args.chexpert_out is None:
        parser.error("give --mimic-out, --chexpert-out or both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(PhantomConfig, args.settings, where="phantom")
    run_phantom(cfg, None, PhantomOutputs(mimic=args.mimic_out, chexpert=args.chexpert_out), threads=args.threads)
    return 0
