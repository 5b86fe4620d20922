"""Graph shards: ``part-00000.parquet, part-00001.parquet, ...`` holding the parse stage's report graphs.

Each shard is a Parquet file with :data:`igcl.contracts.schema.GRAPH_SCHEMA`, one row per report::

    study_id  string
    nodes     list<struct<text: string, label: string, start: int32, end: int32, section: string>>
    edges     list<struct<src: int32, dst: int32, relation: string>>

Shards hold at most ``rows_per_shard`` rows, are numbered from 0 without gaps, and keep the order the rows were
given in, so reading the shards in name order gives back the writer's row order. Every shard is written
atomically (:func:`igcl.contracts.schema.write_table`); the parse stage writes the whole shard directory inside
:func:`igcl.io.atomic_dir`, so a failed run leaves no directory at all.

Readers validate every shard against ``GRAPH_SCHEMA`` before returning rows: :func:`read_graphs` gives one pyarrow
table, :func:`read_graphs_polars` reads the same files with polars' own Parquet reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from igcl.contracts.schema import GRAPH_SCHEMA, SchemaError, check_schema, read_table, write_table

SHARD_PATTERN = "part-*.parquet"


def shard_name(index: int) -> str:
    """``part-00000.parquet`` for shard 0 (five digits: 100,000 shards before names stop sorting)."""
    return f"part-{index:05d}.parquet"


class GraphShardWriter:
    """Append GRAPH_SCHEMA tables in order; write a shard each time ``rows_per_shard`` rows have gathered.

    ``add`` takes tables of any length (a worker's chunk); rows are re-cut into shards of exactly
    ``rows_per_shard`` rows, the last one shorter. Call :meth:`close` once to write the remainder; it returns the
    shard paths. A writer that saw no rows writes one empty shard, so a reader always finds the schema.
    """

    def __init__(self, out_dir: str | os.PathLike[str], rows_per_shard: int) -> None:
        if rows_per_shard < 1:
            raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
        self.out_dir = Path(out_dir)
        self.rows_per_shard = rows_per_shard
        self.paths: list[Path] = []
        self.rows_written = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._closed = False

    def add(self, table: pa.Table) -> None:
        """Queue ``table`` (GRAPH_SCHEMA columns) and write every full shard it completes."""
        if self._closed:
            raise RuntimeError("GraphShardWriter.add after close")
        check_schema(table.schema, GRAPH_SCHEMA, where="graph rows given to GraphShardWriter")
        self._pending.append(table.select(GRAPH_SCHEMA.names))
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.rows_per_shard:
            pending = pa.concat_tables(self._pending)
            self._write(pending.slice(0, self.rows_per_shard))
            rest = pending.slice(self.rows_per_shard)
            self._pending = [rest] if rest.num_rows else []
            self._pending_rows = rest.num_rows

    def add_rows(self, rows: Iterable[dict]) -> None:
        """Queue rows given as dicts (``ReportGraph.to_row`` output)."""
        self.add(pa.Table.from_pylist(list(rows), schema=GRAPH_SCHEMA))

    def close(self) -> list[Path]:
        """Write the last, possibly short, shard and return every shard path in order."""
        if not self._closed:
            if self._pending_rows or not self.paths:
                pending = pa.concat_tables(self._pending) if self._pending else GRAPH_SCHEMA.empty_table()
                self._write(pending)
            self._pending, self._pending_rows, self._closed = [], 0, True
        return list(self.paths)

    def _write(self, table: pa.Table) -> None:
        path = self.out_dir / shard_name(len(self.paths))
        write_table(table.combine_chunks(), path, GRAPH_SCHEMA)
        self.paths.append(path)
        self.rows_written += table.num_rows


def write_graph_shards(tables: Iterable[pa.Table], out_dir: str | os.PathLike[str], rows_per_shard: int) -> list[Path]:
    """Write GRAPH_SCHEMA tables, in order, as shards of at most ``rows_per_shard`` rows; return their paths."""
    writer = GraphShardWriter(out_dir, rows_per_shard)
    for table in tables:
        writer.add(table)
    return writer.close()


def graph_shard_paths(graph_dir: str | os.PathLike[str]) -> list[Path]:
    """The shard files of ``graph_dir`` in order; an error names the directory when there is none."""
    graph_dir = Path(graph_dir)
    if not graph_dir.is_dir():
        raise FileNotFoundError(f"{graph_dir}: no such graph shard directory")
    paths = sorted(graph_dir.glob(SHARD_PATTERN))
    if not paths:
        raise FileNotFoundError(f"{graph_dir}: no graph shards ({SHARD_PATTERN})")
    return paths


def read_graphs(graph_dir: str | os.PathLike[str]) -> pa.Table:
    """Every shard of ``graph_dir`` as one pyarrow table (GRAPH_SCHEMA), rows in writing order."""
    tables = [read_table(path, GRAPH_SCHEMA) for path in graph_shard_paths(graph_dir)]
    return pa.concat_tables(tables)


def read_graphs_polars(graph_dir: str | os.PathLike[str]) -> pl.DataFrame:
    """The same rows as :func:`read_graphs`, read by polars' own Parquet reader after a schema check per shard."""
    paths = graph_shard_paths(graph_dir)
    for path in paths:
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise SchemaError(f"{path}: not a readable Parquet file ({err})") from err
        check_schema(schema, GRAPH_SCHEMA, where=str(path))
    return pl.read_parquet([str(p) for p in paths], columns=GRAPH_SCHEMA.names)


def graphs_of(graph_dir: str | os.PathLike[str], studies: Sequence[str], *, what: str) -> dict[str, dict]:
    """The GRAPH_SCHEMA rows (dicts) of ``studies`` from ``graph_dir``'s shards: the one reader of per-study graphs
    (training, retrieval). A study with two graphs, or without one, raises ValueError naming the shard or the
    folder and the study; ``what`` says which studies they are, in the plural (e.g. "train studies")."""
    wanted = set(studies)
    value_set = pa.array(sorted(wanted), pa.string())
    found: dict[str, dict] = {}
    for path in graph_shard_paths(graph_dir):
        table = read_table(path, GRAPH_SCHEMA)
        for row in table.filter(pc.is_in(table["study_id"], value_set=value_set)).to_pylist():
            if row["study_id"] in found:
                raise ValueError(f"{path}: study {row['study_id']} has a second graph (already in another shard)")
            found[row["study_id"]] = row
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"{graph_dir}: {len(missing)} of the {len(wanted)} {what} have no graph, e.g. study "
                         f"{missing[0]} (rerun the parse stage on the same manifest)")
    return found
