"""``igcl ingest`` end to end on the hand-made trees: outputs, exit codes, logs, and nothing left on failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from igcl.cli.ingest import main
from igcl.cli.main import main as igcl_main
from igcl.io import sidecar_path
from igcl.contracts.schema import MANIFEST_SCHEMA, read_table

# The tree builders live beside the reader tests (tests/unit/data); this file runs on its own too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "data"))
from ingest_fixtures import (  # noqa: E402
    CHEXPERT_ROOT_NAME,
    MIMIC_IMAGES,
    leftovers,
    mimic_study_dir,
    write_chexpert_tree,
    write_mimic_tree,
)


def test_mimic_manifest_sidecar_and_log(tmp_path: Path) -> None:
    root = write_mimic_tree(tmp_path / "mimic-cxr-jpg")
    out, log = tmp_path / "manifests" / "pretrain.parquet", tmp_path / "logs" / "pretrain.log"
    code = igcl_main(["ingest", "--settings", '{"on_missing": "error"}', "--format", "mimic", "--root", str(root),
                      "--out", str(out), "--log", str(log)])
    assert code == 0
    table = read_table(out, MANIFEST_SCHEMA)
    assert table.num_rows == 6 and set(table["split"].to_pylist()) == {"train", "validate", "test"}
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["format"] == "mimic" and meta["root"] == str(root) and meta["rows"]["kept"] == 6
    assert f"wrote {out} (6 rows)" in log.read_text()


def test_chexpert_with_views_setting(tmp_path: Path) -> None:
    root = write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)
    out = tmp_path / "eval.parquet"
    assert main(["--settings", '{"views": ["LATERAL"]}', "--format", "chexpert", "--root", str(root),
                 "--out", str(out)]) == 0
    table = read_table(out, MANIFEST_SCHEMA)
    assert table["view"].to_pylist() == ["LATERAL", "LATERAL"]
    assert json.loads(sidecar_path(out).read_text())["config"]["views"] == ["LATERAL"]


def test_separate_reports_root(tmp_path: Path) -> None:
    root = write_mimic_tree(tmp_path / "jpg", reports_root=tmp_path / "reports")
    out = tmp_path / "pretrain.parquet"
    assert main(["--format", "mimic", "--root", str(root), "--reports-root", str(tmp_path / "reports"),
                 "--out", str(out)]) == 0
    assert all(p.startswith(f"{tmp_path}/reports/files/") for p in read_table(out, MANIFEST_SCHEMA)["report_path"]
               .to_pylist())


def test_bad_data_exits_1_logs_the_file_and_writes_nothing(tmp_path: Path) -> None:
    root = write_mimic_tree(tmp_path / "mimic-cxr-jpg")
    image = root / mimic_study_dir(MIMIC_IMAGES[0]) / f"{MIMIC_IMAGES[0].dicom_id}.jpg"
    image.unlink()
    out, log = tmp_path / "out" / "pretrain.parquet", tmp_path / "ingest.log"
    assert main(["--format", "mimic", "--root", str(root), "--out", str(out), "--log", str(log)]) == 1
    assert f"image absent: {image}" in log.read_text()
    assert leftovers(tmp_path / "out") == []


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    root = write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)
    log = tmp_path / "ingest.log"
    for settings, fragment in (('{"on_missing": "ignore"}', "ingest.on_missing: 'ignore'"),
                               ('{"view": ["PA"]}', "unknown key(s) ['view']"),
                               ('{"views": ["pa"]}', "ingest.views: view names are upper-case")):
        assert main(["--settings", settings, "--format", "chexpert", "--root", str(root),
                     "--out", str(tmp_path / "eval.parquet"), "--log", str(log)]) == 2
        assert fragment in log.read_text()
    assert not (tmp_path / "eval.parquet").exists()


def test_reports_root_is_for_mimic_only(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--format", "chexpert", "--root", str(tmp_path), "--reports-root", str(tmp_path),
              "--out", str(tmp_path / "eval.parquet")])
    assert exit_.value.code == 2
