"""Reading the zero-shot prompts as graphs, parsed once by igcl's own parser (the ``prompts`` stage, written by
:mod:`igcl.evaluate.prompt_parse`).

A graph method (igcl) embeds each zero-shot prompt as the graph its parser makes of it. Parsing is its own small
stage so that the evaluate stage does not import the parser: a parser edit then re-evaluates only the methods
that read graphs (through this file and the report graphs), not every method.

File (``data/prompts/graphs.parquet``, GRAPH_SCHEMA): one row per prompt, ``study_id`` = ``pathology|side|i``
(side ``positive`` or ``negative``, ``i`` the pair's index among the pathology's pairs), in
:func:`igcl.evaluate.prompts.prompt_texts` order. The keys follow from ``evaluate.zeroshot`` (templates and per-pathology prompts), so a
reader given the same settings checks that the file was made for them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from igcl.evaluate.config import ZeroShotConfig
from igcl.evaluate.prompts import prompt_texts
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.contracts.schema import GRAPH_SCHEMA, read_table


def read_prompt_graphs(path: str | os.PathLike[str], cfg: ZeroShotConfig,
                       pathologies: Sequence[str] = COMPETITION_PATHOLOGIES) -> dict[str, dict[str, Any]]:
    """key -> GRAPH_SCHEMA row; ValueError naming the file when it does not hold exactly ``cfg``'s prompts."""
    rows = read_table(path, GRAPH_SCHEMA).to_pylist()
    have = [row["study_id"] for row in rows]
    want = [key for key, _ in prompt_texts(cfg, pathologies)]
    if sorted(have) != sorted(want):
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        raise ValueError(f"{path}: prompt graphs made for other evaluate.zeroshot prompts (missing {missing[:3]}, "
                         f"unexpected {extra[:3]}); rerun the prompts stage")
    return {row["study_id"]: row for row in rows}
