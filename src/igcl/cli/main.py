"""``igcl``: dispatch to one stage's CLI module, importing only that module (so ``igcl phantom`` never loads torch)."""

from __future__ import annotations

import importlib
import sys

# stage name -> (module, one-line help). Each module defines ``main(argv: list[str] | None = None) -> int``.
STAGES: dict[str, tuple[str, str]] = {
    "phantom": ("igcl.cli.phantom", "write the phantom MIMIC-CXR-JPG and CheXpert trees"),
    "ingest": ("igcl.cli.ingest", "read MIMIC-CXR-JPG / CheXpert trees into Parquet manifests"),
    "parse": ("igcl.cli.parse", "parse radiology reports into RadGraph-schema graph shards"),
    "node_features": ("igcl.cli.node_features", "contextual text-model vectors of graph nodes (optional)"),
    "images": ("igcl.cli.images", "decode, resize and shard images for fast loading"),
    "pretrain": ("igcl.cli.pretrain", "contrastive pretraining of an image encoder"),
    "prompts": ("igcl.cli.prompts", "parse the zero-shot prompts into graphs (graph methods)"),
    "evaluate": ("igcl.cli.evaluate", "CheXpert downstream evaluation of a checkpoint"),
    "report": ("igcl.cli.report", "summary of every method's results"),
}


def usage() -> str:
    lines = ["usage: igcl <stage> [options]   (igcl <stage> --help for a stage's options)", "", "stages:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in STAGES.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    stage, rest = args[0], args[1:]
    if stage not in STAGES:
        print(f"igcl: unknown stage {stage!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(STAGES[stage][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
