"""``igcl evaluate``: CheXpert linear probe / few-shot / fine-tuning / zero-shot, thresholded metrics, radiologist
comparisons and MIMIC image→report retrieval of one checkpoint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from igcl.cli.torch_threads import limit_torch_threads
from igcl.config import from_json
from igcl.evaluate.config import EvaluateConfig
from igcl.evaluate.pipeline import EvaluateInputs, EvaluateOutputs, run_evaluate
from igcl.logging_utils import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="igcl evaluate", description=__doc__)
    parser.add_argument("--settings", default="{}", help="the config.yaml 'evaluate' section as JSON")
    parser.add_argument("--runtime", default="{}",
                          help="execution keys of the section as JSON (workers, device, ...; never rerun a stage)")
    parser.add_argument("--method", required=True, help="pretraining method of the checkpoint (igcl, convirt, ...)")
    parser.add_argument("--label", default=None,
                        help="the run's name in the tables (a config variant's name; default: the method)")
    parser.add_argument("--checkpoint", required=True, type=Path, help="results/pretrain/{method}/seed{N} directory")
    parser.add_argument("--eval-images", required=True, type=Path, help="CheXpert image shard .npy")
    parser.add_argument("--eval-index", required=True, type=Path, help="CheXpert image shard .index.parquet")
    # retrieval inputs: only a method with a report encoder reads them, and only its own report side
    parser.add_argument("--retrieval-images", type=Path, help="MIMIC image shard .npy (retrieval)")
    parser.add_argument("--retrieval-index", type=Path, help="MIMIC image shard .index.parquet (retrieval)")
    parser.add_argument("--manifest", type=Path, help="MIMIC manifest, report_path per study (retrieval, text side)")
    parser.add_argument("--graphs", type=Path, help="directory of graph part-*.parquet shards (retrieval, graph side)")
    parser.add_argument("--node-features", type=Path,
                        help="the node_features stage's folder (retrieval, graph encoders on text-model vectors)")
    parser.add_argument("--prompt-graphs", type=Path, default=None,
                        help="the prompts stage's graphs (data/prompts/graphs.parquet; zero-shot of a graph method)")
    parser.add_argument("--radiologists", type=Path, default=None,
                        help="reader CSV (reader,pathology,fpr,tpr): compare each reader with the model's ROC")
    parser.add_argument("--out", required=True, type=Path, help="output directory results/eval/{method}/seed{N}")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (the rule's threads); default: torch's own choice")
    parser.add_argument("--log", type=Path, default=None, help="log file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(EvaluateConfig, args.settings, runtime=args.runtime, where="evaluate")
    limit_torch_threads(args.threads)
    inputs = EvaluateInputs(checkpoint_dir=args.checkpoint, eval_images=args.eval_images, eval_index=args.eval_index,
                            retrieval_images=args.retrieval_images, retrieval_index=args.retrieval_index,
                            manifest=args.manifest, graphs_dir=args.graphs,
                            node_features=args.node_features, radiologists=args.radiologists,
                            prompt_graphs=args.prompt_graphs)
    run_evaluate(cfg, inputs, EvaluateOutputs(args.out), method=args.method, label=args.label)
    return 0
