"""``igcl images``: decode, grayscale, resize and shard one manifest's images (one .npy + one index Parquet)."""

from __future__ import annotations

import argparse
import logging

from igcl.config import from_json
from igcl.data.imageshards import ImagesConfig, ImagesInputs, ImagesOutputs, run_images
from igcl.logging_utils import setup_logging

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl images", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config's images section as JSON")
    parser.add_argument("--manifest", required=True, help="manifest Parquet (data/manifests/{pretrain,eval}.parquet)")
    parser.add_argument("--out", required=True, help="output .npy array [N, size, size] uint8")
    parser.add_argument("--index", required=True, help="output index Parquet, row-aligned with --out")
    parser.add_argument("--threads", type=int, default=1, help="decoding processes")
    parser.add_argument("--log", default=None, help="log file (appended)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    config = from_json(ImagesConfig, args.settings, where="images")
    try:
        run_images(config, ImagesInputs(args.manifest), ImagesOutputs(images=args.out, index=args.index),
                   threads=args.threads)
    except Exception as err:  # into the --log file too (Snakemake keeps the log; the traceback goes to stderr)
        logger.error("images stage failed: %s", err)
        raise
    return 0
