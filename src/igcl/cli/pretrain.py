"""``igcl pretrain``: contrastive pretraining of one method (:mod:`igcl.methods`), or a baseline's encoder.

Single process: ``igcl pretrain --settings JSON --method M ...``. Several processes / GPUs: launch the same command
under ``torchrun --nproc-per-node N -m igcl.cli.main pretrain ...``; WORLD_SIZE selects DDP.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from igcl.cli.torch_threads import limit_torch_threads
from igcl.config import from_json
from igcl.logging_utils import setup_logging
from igcl.methods import METHOD_NAMES
log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="igcl pretrain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", required=True, help="the config's pretrain section as JSON")
    p.add_argument("--runtime", default="{}",
                     help="execution keys of the section as JSON (workers, device, ...; never rerun a stage)")
    p.add_argument("--method", required=True, choices=METHOD_NAMES)
    p.add_argument("--images", required=True, type=Path, help="image shard array (data/images/pretrain.npy)")
    p.add_argument("--image-index", required=True, type=Path, help="its index (data/images/pretrain.index.parquet)")
    p.add_argument("--graphs", type=Path, help="graph shard folder (data/graphs); needed by igcl")
    p.add_argument("--manifest", type=Path, help="pretrain manifest (report paths); needed by convirt")
    p.add_argument("--node-features", type=Path,
                   help="node_features stage folder (data/node_features/MODEL); igcl with node_features text_model")
    p.add_argument("--out", required=True, type=Path, help="output folder (results/pretrain/METHOD/seedN)")
    p.add_argument("--log", type=Path, help="log file")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    from igcl.train.config import PretrainConfig
    from igcl.train.loop import PretrainInputs, PretrainOutputs, run_pretrain

    config = from_json(PretrainConfig, args.settings, runtime=args.runtime, where="pretrain")
    limit_torch_threads(args.threads)
    inputs = PretrainInputs(images=args.images, image_index=args.image_index, graphs=args.graphs,
                            manifest=args.manifest, node_features=args.node_features)
    run_pretrain(config, inputs, PretrainOutputs(args.out), method=args.method)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
