"""The ``graphs:`` config section (a module of its own, free of spaCy and pyarrow: the workflow checks it when it
reads config.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from igcl.config import EXECUTION

SOURCES = ("spacy", "radgraph_json")


@dataclass(frozen=True)
class GraphsConfig:
    """The ``graphs:`` section of config.yaml.

    source: ``spacy`` (parse report text with igcl's parser) or ``radgraph_json`` (import RadGraph's JSON).
    radgraph_json: path of the RadGraph JSON; the rule's input when source is ``radgraph_json``, else unused.
    rows_per_shard: at most this many reports per shard file.
    chunk_size: reports per worker task (a unit of parallel work; output does not depend on it).
    batch_size: reports per ``ReportParser.parse_many`` batch inside a worker.
    """

    source: str = "spacy"
    radgraph_json: str | None = None
    rows_per_shard: int = 20_000
    chunk_size: int = field(default=500, metadata=EXECUTION)
    batch_size: int = field(default=256, metadata=EXECUTION)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"graphs.source must be one of {list(SOURCES)}, got {self.source!r}")
        if self.source == "radgraph_json" and not self.radgraph_json:
            raise ValueError("graphs.radgraph_json must name the RadGraph JSON file when graphs.source is "
                             "radgraph_json")
        for key in ("rows_per_shard", "chunk_size", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"graphs.{key} must be an integer >= 1, got {value!r}")
