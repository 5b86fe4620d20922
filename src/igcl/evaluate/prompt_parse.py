"""Parse the zero-shot prompts into graphs with igcl's own parser: the ``prompts`` stage's library function.

Only the ``prompts`` stage imports this (and so the parser); the evaluate stage reads its output with
:func:`igcl.evaluate.prompt_graphs.read_prompt_graphs`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import pyarrow as pa

from igcl.evaluate.config import ZeroShotConfig
from igcl.evaluate.prompts import prompt_texts
from igcl.io import Sidecar, read_sidecar, write_sidecar
from igcl.reports.parser import ReportParser
from igcl.contracts.schema import GRAPH_SCHEMA, write_table

log = logging.getLogger(__name__)


def write_prompt_graphs(cfg: ZeroShotConfig, out: str | os.PathLike[str]) -> int:
    """Parse every prompt of ``cfg`` and write the graphs to ``out`` (atomically, with a sidecar); returns rows."""
    started = time.perf_counter()
    keyed = prompt_texts(cfg)
    graphs = ReportParser().parse_many([text for _, text in keyed])
    rows = [graph.to_row(key) for (key, _), graph in zip(keyed, graphs)]
    write_table(pa.Table.from_pylist(rows, schema=GRAPH_SCHEMA), out, GRAPH_SCHEMA)
    write_sidecar(out, config={"templates": [list(p) for p in cfg.templates], "prompts": cfg.prompts},
                  rows={"prompts": len(rows)}, seconds=time.perf_counter() - started,
                  extra={"texts": dict(keyed)})
    log.info("parsed %d zero-shot prompts into %s", len(rows), out)
    return len(rows)


@dataclass(frozen=True)
class PromptsOutputs:
    graphs: str | os.PathLike[str]  # data/prompts/graphs.parquet


def run_prompts(config: ZeroShotConfig, inputs: None, outputs: PromptsOutputs) -> Sidecar:
    """The prompts stage: the zero-shot prompts of ``config`` parsed into graphs (it reads only the config)."""
    if inputs is not None:
        raise ValueError("the prompts stage reads no inputs: its prompts are config values")
    write_prompt_graphs(config, outputs.graphs)
    return read_sidecar(outputs.graphs)
