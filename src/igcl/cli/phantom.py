"""``igcl phantom``: write the phantom MIMIC-CXR-JPG and CheXpert-v1.0-small trees (rule ``phantom``)."""

from __future__ import annotations

import argparse
import logging
import time

from igcl.config import from_json, to_dict
from igcl.data.phantom import PhantomConfig, generate_phantom
from igcl.io import write_sidecar
from igcl.logging_utils import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl phantom", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config's phantom section as a JSON object")
    parser.add_argument("--mimic-out", required=True, help="MIMIC-CXR-JPG tree to write (directory)")
    parser.add_argument("--chexpert-out", required=True, help="CheXpert-v1.0-small tree to write (directory)")
    parser.add_argument("--threads", type=int, default=1, help="worker processes (output is the same for any)")
    parser.add_argument("--log", default=None, help="log file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(PhantomConfig, args.settings, where="phantom")
    start = time.perf_counter()
    counts = generate_phantom(cfg, args.mimic_out, args.chexpert_out, threads=args.threads)
    seconds = time.perf_counter() - start
    for out in (args.mimic_out, args.chexpert_out):
        write_sidecar(out, config=to_dict(cfg), rows=counts, seconds=seconds)
    log.info("phantom: done in %.1f s", seconds)
    return 0
