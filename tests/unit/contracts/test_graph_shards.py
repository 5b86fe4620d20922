"""Graph shards: bounded size, order, atomic files, and round trips through pyarrow and polars."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from igcl.reports.graph import Edge, Node, ReportGraph
from igcl.contracts.graphs import GraphShardWriter, read_graphs, read_graphs_polars, write_graph_shards
from igcl.contracts.schema import GRAPH_SCHEMA, SchemaError


def make_row(i: int) -> dict:
    """A graph row with i % 4 nodes (so some are empty), unicode text and a chain of modify edges."""
    n = i % 4
    nodes = [{"text": f"effusión-{i}-{k}", "label": ("OBS-DP", "ANAT-DP", "OBS-DA", "OBS-U")[k],
              "start": 10 * k, "end": 10 * k + 5, "section": ("findings", "impression", "text")[k % 3]}
             for k in range(n)]
    edges = [{"src": k, "dst": k + 1, "relation": "modify"} for k in range(n - 1)]
    return {"study_id": f"s{i:05d}", "nodes": nodes, "edges": edges}


def table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=GRAPH_SCHEMA)


def test_shards_are_bounded_numbered_and_keep_order(tmp_path):
    rows = [make_row(i) for i in range(25)]
    writer = GraphShardWriter(tmp_path, rows_per_shard=10)
    for start in range(0, 25, 7):  # chunks that do not line up with shard boundaries
        writer.add(table_of(rows[start:start + 7]))
    paths = writer.close()
    assert [p.name for p in paths] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pq.read_metadata(p).num_rows for p in paths] == [10, 10, 5]
    assert writer.rows_written == 25
    assert read_graphs(tmp_path).column("study_id").to_pylist() == [r["study_id"] for r in rows]
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_round_trip_pyarrow_and_polars_equal_the_originals(tmp_path):
    rows = [make_row(i) for i in range(37)]
    write_graph_shards([table_of(rows[:20]), table_of(rows[20:])], tmp_path, rows_per_shard=16)
    assert read_graphs(tmp_path).to_pylist() == rows
    frame = read_graphs_polars(tmp_path)
    assert frame.columns == ["study_id", "nodes", "edges"]
    assert frame.to_dicts() == rows


def test_round_trip_of_report_graphs(tmp_path):
    graphs = [
        ReportGraph(nodes=(), edges=()),
        ReportGraph(nodes=(Node("pleural", "ANAT-DP", 3, 10, "findings"), Node("effusion", "OBS-DA", 11, 19, "findings")),
                    edges=(Edge(1, 0, "located_at"),)),
    ]
    write_graph_shards([pa.Table.from_pylist([g.to_row(f"s{i}") for i, g in enumerate(graphs)], schema=GRAPH_SCHEMA)],
                       tmp_path, rows_per_shard=1)
    assert [ReportGraph.from_row(r) for r in read_graphs(tmp_path).to_pylist()] == graphs
    assert [ReportGraph.from_row(r) for r in read_graphs_polars(tmp_path).to_dicts()] == graphs


def test_writer_with_no_rows_writes_one_empty_shard(tmp_path):
    assert [p.name for p in write_graph_shards([], tmp_path, rows_per_shard=5)] == ["part-00000.parquet"]
    assert read_graphs(tmp_path).num_rows == 0
    assert read_graphs_polars(tmp_path).height == 0


def test_bad_rows_per_shard_and_bad_tables_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="rows_per_shard"):
        GraphShardWriter(tmp_path, rows_per_shard=0)
    writer = GraphShardWriter(tmp_path, rows_per_shard=5)
    with pytest.raises(SchemaError, match="missing column 'edges'"):
        writer.add(pa.table({"study_id": ["s1"], "nodes": pa.array([[]], type=GRAPH_SCHEMA.field("nodes").type)}))


def test_readers_name_the_directory_or_file_at_fault(tmp_path):
    with pytest.raises(FileNotFoundError, match="no graph shards"):
        read_graphs(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such graph shard directory"):
        read_graphs_polars(tmp_path / "absent")
    write_graph_shards([table_of([make_row(1)])], tmp_path, rows_per_shard=5)
    bad = tmp_path / "part-00001.parquet"
    pq.write_table(pa.table({"study_id": ["s2"], "nodes": [1]}), bad)
    for reader in (read_graphs, read_graphs_polars):
        with pytest.raises(SchemaError, match="part-00001.parquet.*'nodes'"):
            reader(tmp_path)
    bad.write_bytes(b"not parquet")
    for reader in (read_graphs, read_graphs_polars):
        with pytest.raises(SchemaError, match="part-00001.parquet: not a readable Parquet file"):
            reader(tmp_path)
