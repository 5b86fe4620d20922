"""``igcl prompts``: parse the zero-shot prompts (``evaluate.zeroshot``) into graphs for graph methods."""

from __future__ import annotations

import argparse
from pathlib import Path

from igcl.config import from_json
from igcl.evaluate.config import ZeroShotConfig
from igcl.evaluate.prompt_parse import PromptsOutputs, run_prompts
from igcl.logging_utils import setup_logging


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl prompts", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config.yaml 'evaluate.zeroshot' section as JSON")
    parser.add_argument("--out", required=True, type=Path, help="the prompt graphs file (GRAPH_SCHEMA Parquet)")
    parser.add_argument("--log", type=Path, default=None, help="log file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    run_prompts(from_json(ZeroShotConfig, args.settings, where="evaluate.zeroshot"), None, PromptsOutputs(args.out))
    return 0
