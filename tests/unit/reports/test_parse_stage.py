"""The parse stage end to end on small inputs: shards, labels, sidecar, determinism, bad input, no partial output."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.reports.graph import ReportGraph
from igcl.reports.inputs import ReportInputError
from igcl.reports.stage import GraphsConfig, run_parse_stage
from igcl.contracts.graphs import read_graphs
from igcl.contracts.schema import GRAPH_LABELS_SCHEMA, read_table

REPORTS = {
    "s1": "FINDINGS: Mild left lower lobe consolidation, which may represent pneumonia.\n"
          "IMPRESSION: No pleural effusion or pneumothorax.",
    "s2": "",
    "s3": "   \n\t ",
    "s4": "Moderate cardiomegaly. Small right pleural effusion.",  # no section headers
    "s5": "FINDINGS: Lungs\x00 are clear.\x07\x1b No\u200b pneumothorax.\r\nIMPRESSION: Normal \ufffd chest.",
    "s6": "IMPRESSION: Interval increase in bilateral pulmonary edema.",
    "s7": "FINDINGS: Endotracheal tube tip 4 cm above the carina. Possible atelectasis at the right base.",
}


def write_csv(path: Path, reports: dict[str, str]) -> Path:
    pl.DataFrame({"study_id": list(reports), "text": list(reports.values())}).write_csv(path)
    return path


def graphs_by_study(out: Path) -> dict[str, ReportGraph]:
    return {row["study_id"]: ReportGraph.from_row(row) for row in read_graphs(out).to_pylist()}


def test_stage_writes_bounded_shards_labels_and_sidecar(tmp_path):
    out = tmp_path / "graphs"
    summary = run_parse_stage(write_csv(tmp_path / "r.csv", REPORTS), out, GraphsConfig(rows_per_shard=3,
                                                                                        chunk_size=2), threads=1)
    assert sorted(p.name for p in out.iterdir()) == ["labels.parquet", "part-00000.parquet", "part-00001.parquet",
                                                    "part-00002.parquet"]
    assert [pq.read_metadata(out / f"part-0000{i}.parquet").num_rows for i in range(3)] == [3, 3, 1]
    assert read_graphs(out).column("study_id").to_pylist() == list(REPORTS)
    graphs = graphs_by_study(out)
    for study_id, graph in graphs.items():
        assert all(REPORTS[study_id][n.start:n.end] == n.text for n in graph.nodes), study_id
    assert graphs["s2"] == ReportGraph() and graphs["s3"] == ReportGraph()  # empty reports: kept, empty graphs
    assert graphs["s4"].nodes and {n.section for n in graphs["s4"].nodes} == {"text"}
    assert graphs["s5"].nodes  # control characters do not stop the parser
    assert {n.section for n in graphs["s1"].nodes} == {"findings", "impression"}

    labels = read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA)
    assert labels.column("study_id").to_pylist() == list(REPORTS)
    assert labels.column_names == ["study_id", *CHEXPERT_OBSERVATIONS]
    assert all(v is None for name in CHEXPERT_OBSERVATIONS for v in [labels.column(name)[1].as_py()])
    assert labels.column("Cardiomegaly")[3].as_py() == 1.0

    meta = json.loads((tmp_path / "graphs.meta.json").read_text())
    assert meta["rows"]["reports"] == 7 and meta["rows"]["empty"] == 2 and meta["rows"]["shards"] == 3
    assert meta["rows"]["nodes"] == sum(len(g.nodes) for g in graphs.values()) == summary.nodes
    assert meta["config"]["rows_per_shard"] == 3 and set(meta["phase_seconds"]) == {"read", "parse", "write"}
    assert meta["parse_cpu_seconds"] > 0


@pytest.mark.slow
def test_output_is_the_same_for_one_and_two_workers(tmp_path):
    reports = {f"s{i}": text for i, text in enumerate(list(REPORTS.values()) * 6)}
    src = write_csv(tmp_path / "r.csv", reports)
    cfg = GraphsConfig(rows_per_shard=10, chunk_size=5, batch_size=3)
    run_parse_stage(src, tmp_path / "one", cfg, threads=1)
    run_parse_stage(src, tmp_path / "two", cfg, threads=2)
    for name in ["labels.parquet"] + [f"part-{i:05d}.parquet" for i in range(5)]:
        assert pq.read_table(tmp_path / "one" / name).equals(pq.read_table(tmp_path / "two" / name)), name
    assert not (tmp_path / "one" / "part-00005.parquet").exists()


@pytest.mark.slow
def test_a_one_megabyte_report_is_parsed(tmp_path):
    # Half dense findings (55,000 entities: guards against anything quadratic in the graph size), half filler.
    text = ("FINDINGS: " + "Small left pleural effusion. No pneumothorax. " * 11_000
            + "The examination was compared with the one before. " * 10_000 + "\nIMPRESSION: Mild edema.")
    assert len(text) > 1_000_000
    out = tmp_path / "graphs"
    run_parse_stage(write_csv(tmp_path / "r.csv", {"big": text, "s1": REPORTS["s1"]}), out, GraphsConfig())
    graphs = graphs_by_study(out)
    big = graphs["big"]
    assert len(big.nodes) > 50_000
    assert all(text[n.start:n.end] == n.text for n in big.nodes)
    assert (big.nodes[-1].text, big.nodes[-1].section) == ("edema", "impression")  # the end was reached
    labels = read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA).to_pylist()[0]
    assert (labels["Pleural Effusion"], labels["Pneumothorax"], labels["Edema"]) == (1.0, 0.0, 1.0)


def test_worker_spool_lies_beside_the_output_not_in_tmp(tmp_path, monkeypatch):
    from igcl.reports import stage

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    spools = set()
    read_ipc = stage._read_ipc

    def recording(path):
        spools.add(Path(path).parent)
        return read_ipc(path)

    monkeypatch.setattr(stage, "_read_ipc", recording)
    out = tmp_path / "data" / "graphs"
    src = write_csv(tmp_path / "r.csv", REPORTS)
    cfg = GraphsConfig(chunk_size=2)
    run_parse_stage(src, out, cfg, threads=2)
    assert len(spools) == 1
    spool = spools.pop()
    assert spool.parent == out.parent and re.fullmatch(r"\.graphs\.spool_\w+\.tmp", spool.name)
    assert list(tmpdir.glob("igcl-parse-*")) == []  # (multiprocessing keeps its own pymp-* there)
    assert sorted(p.name for p in out.parent.iterdir()) == ["graphs", "graphs.meta.json"]  # no .*.tmp left


def test_a_rerun_removes_a_killed_runs_spool_and_temporaries(tmp_path):
    out = tmp_path / "graphs"
    spool = tmp_path / ".graphs.spool_k1lled00.tmp"  # what SIGKILL left mid-parse: reports and chunk files
    spool.mkdir()
    (spool / "reports.arrow").write_bytes(b"\0" * 1024)
    (spool / "000003.graphs.arrow").write_bytes(b"\0" * 1024)
    half = tmp_path / ".graphs.ab_c1234.tmp"  # the half-written output directory
    half.mkdir()
    (half / "part-00000.parquet").write_bytes(b"")
    (tmp_path / "graphs.meta.json").write_text("{}")  # a sidecar whose output Snakemake deleted
    other = tmp_path / ".graphs2.spool_x.tmp"  # another output's spool: not ours to remove
    other.mkdir()
    run_parse_stage(write_csv(tmp_path / "r.csv", {"s1": "No effusion."}), out, GraphsConfig())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".graphs2.spool_x.tmp", "graphs", "graphs.meta.json",
                                                          "r.csv"]
    assert json.loads((tmp_path / "graphs.meta.json").read_text())["rows"]["reports"] == 1


def test_a_full_disk_is_an_error_naming_the_output_and_leaving_nothing(tmp_path, tiny_tmpfs):
    words = "The heart is enlarged. Small left pleural effusion with basilar atelectasis. No pneumothorax. "
    reports = {f"s{i:05d}": f"FINDINGS: {words * (1 + i % 7)} Study {i}." for i in range(2000)}
    csv = write_csv(tmp_path / "reports.csv", reports)
    out = tiny_tmpfs / "graphs"
    filler = tiny_tmpfs / "filler"
    filler.write_bytes(b"\0" * (1024 * 1024 - 16 * 1024))  # 16 KiB left: less than the graphs need
    with pytest.raises(OSError) as info:
        run_parse_stage(csv, out, GraphsConfig(rows_per_shard=500))
    assert info.value.errno == errno.ENOSPC
    assert info.value.strerror.startswith(f"{out}: no space left on device while writing it")
    assert "MiB free of" in str(info.value) and str(tiny_tmpfs) in str(info.value)
    assert list(tiny_tmpfs.iterdir()) == [filler]


def test_non_utf8_report_is_parsed_and_counted(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "s1.txt").write_bytes(b"FINDINGS: Small \xe9 pleural effusion.")
    out = tmp_path / "graphs"
    summary = run_parse_stage(reports, out, GraphsConfig())
    assert summary.undecodable == 1
    assert any(n.text == "effusion" for n in graphs_by_study(out)["s1"].nodes)
    assert json.loads((tmp_path / "graphs.meta.json").read_text())["rows"]["undecodable"] == 1


def test_errors_leave_no_output_and_keep_an_older_one(tmp_path):
    out = tmp_path / "graphs"
    dup = tmp_path / "dup.csv"
    dup.write_text("study_id,text\ns1,No effusion.\ns1,Edema.\n")
    with pytest.raises(ReportInputError, match="duplicate study_id 's1'"):
        run_parse_stage(dup, out, GraphsConfig())
    assert not out.exists()
    run_parse_stage(write_csv(tmp_path / "ok.csv", {"s1": "No effusion."}), out, GraphsConfig())
    before = sorted(os.listdir(out))
    with pytest.raises(ReportInputError, match="missing column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("id,report\ns1,x\n")
        run_parse_stage(bad, out, GraphsConfig())
    assert sorted(os.listdir(out)) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".graphs")] == []


def test_a_failing_parser_names_the_studies_and_leaves_nothing(tmp_path, monkeypatch):
    from igcl.reports import parser

    def broken(self, texts, batch_size=256):
        raise MemoryError("out of memory")

    monkeypatch.setattr(parser.ReportParser, "parse_rows", broken)
    out = tmp_path / "graphs"
    with pytest.raises(RuntimeError, match="studies s1 .. s4 failed: MemoryError: out of memory"):
        run_parse_stage(write_csv(tmp_path / "r.csv", dict(list(REPORTS.items())[:4])), out, GraphsConfig())
    assert not out.exists() and not (tmp_path / "graphs.meta.json").exists()


def test_radgraph_json_source(tmp_path):
    data = {"p18/p18004941/s58821758.txt": {"text": "No pleural effusion .", "entities": {
        "1": {"tokens": "pleural", "label": "Anatomy::definitely present", "start_ix": 1, "end_ix": 1,
              "relations": []},
        "2": {"tokens": "effusion", "label": "Observation::definitely absent", "start_ix": 2, "end_ix": 2,
              "relations": [["located_at", "1"]]}}},
        "p10/p10000032/s50414267.txt": {"text": "", "entities": {}}}
    src = tmp_path / "MIMIC-CXR_graphs.json"
    src.write_text(json.dumps(data))
    out = tmp_path / "graphs"
    summary = run_parse_stage(src, out, GraphsConfig(source="radgraph_json", radgraph_json=str(src)), threads=2)
    assert (summary.reports, summary.empty, summary.nodes, summary.edges) == (2, 1, 2, 1)
    rows = read_graphs(out).to_pylist()
    assert [r["study_id"] for r in rows] == ["s58821758", "s50414267"]
    assert rows[0]["nodes"][1] == {"text": "effusion", "label": "OBS-DA", "start": 11, "end": 19, "section": "text"}
    labels = read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA).to_pylist()
    assert labels[0]["Pleural Effusion"] == 0.0


def test_radgraph_json_errors_leave_no_output(tmp_path):
    src = tmp_path / "g.json"
    src.write_text(json.dumps({"s1.txt": {"text": "No effusion", "entities": {
        "1": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 1, "end_ix": 1, "relations": [["modify", "9"]]}}}}))
    with pytest.raises(ValueError, match="report 's1.txt': entity '1': relation 'modify' refers to entity '9'"):
        run_parse_stage(src, tmp_path / "graphs", GraphsConfig(source="radgraph_json", radgraph_json=str(src)))
    assert not (tmp_path / "graphs").exists()


@pytest.mark.parametrize("values, message", [
    ({"source": "bert"}, "graphs.source must be one of"),
    ({"source": "radgraph_json"}, "graphs.radgraph_json must name"),
    ({"rows_per_shard": 0}, "graphs.rows_per_shard must be an integer >= 1"),
    ({"chunk_size": 2.5}, "graphs.chunk_size must be an integer >= 1"),
])
def test_config_is_checked(values, message):
    with pytest.raises(ValueError, match=message):
        GraphsConfig(**values)


@pytest.fixture(scope="session")
def openi_reports():
    from igcl_openi.reports import default_cache_dir, fetch_openi_archive, read_openi_reports

    return read_openi_reports(fetch_openi_archive(default_cache_dir()))


@pytest.mark.network
@pytest.mark.slow
def test_all_openi_reports_through_the_stage(tmp_path, openi_reports):
    assert len(openi_reports) == 3955
    src = write_csv(tmp_path / "openi.csv", dict(openi_reports))
    out = tmp_path / "graphs"
    summary = run_parse_stage(src, out, GraphsConfig(rows_per_shard=1000), threads=2)
    assert summary.reports == 3955
    assert [pq.read_metadata(p).num_rows for p in sorted(out.glob("part-*.parquet"))] == [1000, 1000, 1000, 955]
    assert read_graphs(out).num_rows == 3955
    assert read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA).num_rows == 3955
    assert summary.nodes > 3955  # real reports give graphs, not just empty rows
    # The workers' column path (parse_rows -> GraphColumns) gives exactly ReportParser.parse_many's graphs and
    # graph_labels' labels.
    from igcl.reports.labels import graph_labels
    from igcl.reports.parser import ReportParser

    expected = list(ReportParser().parse_many(text for _, text in openi_reports))
    assert list(graphs_by_study(out).values()) == expected
    labels = read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA).to_pylist()
    assert [row["study_id"] for row in labels] == [study for study, _ in openi_reports]
    assert [{k: row[k] for k in CHEXPERT_OBSERVATIONS} for row in labels] == [graph_labels(g) for g in expected]


def test_graph_table_equals_the_row_by_row_table():
    """The column-by-column builder gives the same table as ``from_pylist`` of ``to_row`` dicts."""
    import pyarrow as pa

    from igcl.reports.graph import Edge, Node
    from igcl.reports.columns import graph_columns
    from igcl.contracts.schema import GRAPH_SCHEMA

    graphs = [
        ReportGraph((Node("effusion", "OBS-DP", 3, 11, "findings"), Node("pleural", "ANAT-DP", 12, 19, "impression")),
                    (Edge(0, 1, "located_at"),)),
        ReportGraph(),
        ReportGraph((Node("normal", "OBS-DA", 0, 6, "text"),), ()),
    ]
    ids = ["s1", "s2", "s3"]
    built = graph_columns(ids, graphs).graph_table()
    expected = pa.Table.from_pylist([g.to_row(s) for s, g in zip(ids, graphs)], schema=GRAPH_SCHEMA)
    assert built.schema == GRAPH_SCHEMA
    assert built.equals(expected)
    assert built.column("nodes").to_pylist()[1] == [] and built.column("edges").to_pylist()[2] == []
    assert graph_columns([], []).graph_table().num_rows == 0
