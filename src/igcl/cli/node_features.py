"""``igcl node_features``: one contextual vector per graph node from a local text model, stored beside the graphs.

    igcl node_features --settings '{"layers": 4, "overlap": 128}' --runtime '{"batch_size": 16}' \\
        --graphs data/graphs --reports data/manifests/pretrain.parquet --model /models/bert-base-uncased \\
        --out data/node_features/bert-base-uncased --log logs/node_features/bert-base-uncased.log

``--reports`` is what the parse stage read (a manifest, report table or directory, or RadGraph's JSON): the nodes'
character offsets index those texts. See :mod:`igcl.reports.node_features` for the recipe and the window rule,
:mod:`igcl.contracts.node_features` for the output folder.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from igcl.cli.torch_threads import limit_torch_threads
from igcl.config import from_json
from igcl.logging_utils import setup_logging
from igcl.reports.node_features_config import NodeFeaturesConfig

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="igcl node_features", description=__doc__.split("\n")[0])
    p.add_argument("--settings", default="{}", help="the config's node_features: section as JSON")
    p.add_argument("--runtime", default="{}",
                   help="execution keys of the section as JSON (batch size, device; never rerun a stage)")
    p.add_argument("--graphs", required=True, type=Path, help="graph shard folder (data/graphs)")
    p.add_argument("--reports", required=True, type=Path, help="the report source the graphs were parsed from")
    p.add_argument("--model", required=True, type=Path, help="local Hugging Face model folder")
    p.add_argument("--out", required=True, type=Path, help="output folder (replaced whole, atomically)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--log", type=Path, help="log file (appended)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    cfg = from_json(NodeFeaturesConfig, args.settings, runtime=args.runtime, where="node_features")
    from igcl.models.hf_folder import check_model_folder
    from igcl.reports.node_features import MODEL_KEY, NodeFeaturesInputs, NodeFeaturesOutputs, run_node_features

    check_model_folder(args.model, key=MODEL_KEY)
    limit_torch_threads(args.threads)
    run_node_features(cfg, NodeFeaturesInputs(args.graphs, args.reports, args.model), NodeFeaturesOutputs(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
