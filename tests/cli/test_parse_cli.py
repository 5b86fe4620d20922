"""``igcl parse`` through its main(argv): a directory of .txt reports, a manifest, settings errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from igcl.cli.main import main as igcl_main
from igcl.cli.parse import main
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.graphs import read_graphs
from igcl.contracts.schema import GRAPH_LABELS_SCHEMA, MANIFEST_SCHEMA, read_table


def test_directory_of_reports(tmp_path):
    reports = tmp_path / "files" / "p10" / "p10000032"
    reports.mkdir(parents=True)
    (reports / "s50414267.txt").write_text("FINDINGS: No focal consolidation.\nIMPRESSION: No acute process.")
    (reports / "s53189527.txt").write_text("IMPRESSION: Small left pleural effusion.")
    log = tmp_path / "logs" / "parse.log"
    out = tmp_path / "data" / "graphs"
    rc = main(["--settings", json.dumps({"source": "spacy", "rows_per_shard": 1}), "--input", str(tmp_path / "files"),
               "--out", str(out), "--threads", "1", "--log", str(log)])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["labels.parquet", "part-00000.parquet", "part-00001.parquet"]
    assert read_graphs(out).column("study_id").to_pylist() == ["s50414267", "s53189527"]
    labels = read_table(out / "labels.parquet", GRAPH_LABELS_SCHEMA).to_pylist()
    assert labels[1]["Pleural Effusion"] == 1.0
    assert "wrote 2 graphs" in log.read_text()
    assert json.loads((tmp_path / "data" / "graphs.meta.json").read_text())["rows"]["reports"] == 2


def test_manifest_through_the_dispatcher(tmp_path):
    (tmp_path / "s1.txt").write_text("FINDINGS: Moderate cardiomegaly.")
    empty_labels = {name: None for name in CHEXPERT_OBSERVATIONS}
    rows = [{"study_id": "s1", "patient_id": "p1", "image_id": image, "split": "train", "image_path": f"{image}.jpg",
             "view": "PA", "report_path": str(tmp_path / "s1.txt"), "labels": empty_labels} for image in ("a", "b")]
    pq.write_table(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), tmp_path / "pretrain.parquet")
    out = tmp_path / "graphs"
    assert igcl_main(["parse", "--input", str(tmp_path / "pretrain.parquet"), "--out", str(out)]) == 0
    assert read_graphs(out).column("study_id").to_pylist() == ["s1"]  # two images, one report


def test_bad_settings_and_threads_fail_before_any_output(tmp_path):
    (tmp_path / "r.csv").write_text("study_id,text\ns1,No effusion.\n")
    args = ["--input", str(tmp_path / "r.csv"), "--out", str(tmp_path / "graphs")]
    with pytest.raises(ValueError, match=r"graphs: unknown key\(s\) \['shard_rows'\]"):
        main(["--settings", '{"shard_rows": 5}', *args])
    with pytest.raises(ValueError, match="--threads must be >= 1"):
        main(["--threads", "0", *args])
    assert not (tmp_path / "graphs").exists()
