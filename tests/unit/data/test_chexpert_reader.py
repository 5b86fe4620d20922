"""The CheXpert reader on the hand-made tree of ingest_fixtures: mapping, determinism, and every bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from ingest_fixtures import CHEXPERT_ROOT_NAME, edit_csv, leftovers, read_csv_rows, write_chexpert_tree

from igcl.data.chexpert import read_chexpert
from igcl.data.manifest import IngestConfig, IngestError, write_manifest
from igcl.io import sidecar_path
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import MANIFEST_SCHEMA, read_table

P1 = "train/patient00001/study1/view1_frontal.jpg"
P2F = "train/patient00002/study2/view1_frontal.jpg"
P2L = "train/patient00002/study2/view2_lateral.jpg"
P3 = "train/patient00003/study1/view1_frontal.jpg"
P4 = "train/patient00004/study1/view1_frontal.jpg"
PV = "valid/patient64541/study1/view1_frontal.jpg"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_chexpert_tree(tmp_path / CHEXPERT_ROOT_NAME)


def ingest(root: Path, out: Path, config: IngestConfig = IngestConfig()):
    build = read_chexpert(root, config)
    write_manifest(build, out, config=config, seconds=0.0)
    return build


def ingest_error(root: Path, tmp_path: Path, *fragments: str, config: IngestConfig = IngestConfig()) -> str:
    """Assert ingest fails with a message holding every fragment and leaves no file in the output folder."""
    out_dir = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest(root, out_dir / "eval.parquet", config)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert leftovers(out_dir) == []
    return message


def rows_of(table) -> list[tuple]:
    return [(r["study_id"], r["patient_id"], r["image_id"], r["split"], r["view"]) for r in table.to_pylist()]


# --- what a good tree gives ---------------------------------------------------------------------------------------


def test_views_splits_ids_and_order(root: Path) -> None:
    build = read_chexpert(root)
    # Frontal + AP/PA -> AP/PA; Lateral -> LATERAL; Frontal + LL -> LATERAL; Frontal + RL stays RL (not kept).
    assert rows_of(build.table) == [
        ("patient00001/study1", "patient00001", P1, "train", "AP"),
        ("patient00002/study2", "patient00002", P2F, "train", "PA"),
        ("patient00002/study2", "patient00002", P2L, "train", "LATERAL"),
        ("patient00003/study1", "patient00003", P3, "train", "LATERAL"),
        ("patient64541/study1", "patient64541", PV, "valid", "AP"),
    ]
    assert build.counts == {"csv_rows": 6, "skipped_view": 1, "skipped_missing_image": 0, "kept": 5,
                            "split_train": 4, "split_valid": 1}
    assert build.table["report_path"].null_count == 5


def test_other_views_kept_upper_cased_when_configured(root: Path) -> None:
    def blank_ap_pa(header, rows):
        rows[1][header.index("AP/PA")] = ""
        return header, rows

    edit_csv(root / "train.csv", blank_ap_pa)
    build = read_chexpert(root, IngestConfig(views=("RL", "FRONTAL")))
    assert rows_of(build.table) == [("patient00001/study1", "patient00001", P1, "train", "FRONTAL"),
                                    ("patient00004/study1", "patient00004", P4, "train", "RL")]


def test_labels_as_written_blank_is_null(root: Path) -> None:
    labels = {r["image_id"]: r["labels"] for r in read_chexpert(root).table.to_pylist()}
    blank = dict.fromkeys(CHEXPERT_OBSERVATIONS)
    assert list(labels[P1]) == list(CHEXPERT_OBSERVATIONS)
    assert labels[P1] == blank | {"No Finding": 1.0}
    assert labels[P2F] == labels[P2L] == blank | {"Cardiomegaly": 1.0, "Pleural Effusion": -1.0,
                                                  "Support Devices": 0.0}
    assert labels[PV] == {name: 1.0 if name in ("Cardiomegaly", "Lung Opacity") else 0.0
                          for name in CHEXPERT_OBSERVATIONS}


def test_paths_join_the_root_as_given_whatever_it_is_called(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_chexpert_tree(tmp_path / "data" / "chexpert")  # Path still starts with CheXpert-v1.0-small/
    monkeypatch.chdir(tmp_path)
    rows = {r["image_id"]: r for r in read_chexpert("data/chexpert").table.to_pylist()}
    assert rows[PV]["image_path"] == f"data/chexpert/{PV}"
    assert Path(rows[P2L]["image_path"]).is_file()


def test_same_inputs_give_byte_identical_manifests_that_round_trip(root: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "eval.parquet", tmp_path / "b" / "eval.parquet"
    build = ingest(root, first)
    ingest(root, second)
    assert first.read_bytes() == second.read_bytes()
    assert read_table(first, MANIFEST_SCHEMA).equals(build.table)
    assert json.loads(sidecar_path(first).read_text())["rows"]["split_valid"] == 1


# --- bad input: every error names the file and row, and leaves nothing behind -------------------------------------


def test_missing_root(tmp_path: Path) -> None:
    ingest_error(tmp_path / "absent", tmp_path, "CheXpert root", str(tmp_path / "absent"), "no such directory")


@pytest.mark.parametrize("name", ["train.csv", "valid.csv"])
def test_missing_csv(root: Path, tmp_path: Path, name: str) -> None:
    (root / name).unlink()
    ingest_error(root, tmp_path, f"{root / name}: no such file")


def test_renamed_column_names_file_column_and_what_it_has(root: Path, tmp_path: Path) -> None:
    edit_csv(root / "valid.csv",
             lambda header, rows: ([("Frontal-Lateral" if c == "Frontal/Lateral" else c) for c in header], rows))
    message = ingest_error(root, tmp_path, str(root / "valid.csv"), "missing column(s) ['Frontal/Lateral']")
    assert "'Frontal-Lateral'" in message


def test_absent_image_is_an_error_naming_file_and_csv_line(root: Path, tmp_path: Path) -> None:
    (root / P2L).unlink()
    ingest_error(root, tmp_path, "image absent", str(root / P2L), f"{root / 'train.csv'} line 4")


def test_absent_image_is_skipped_and_counted(root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (root / PV).unlink()
    out = tmp_path / "out" / "eval.parquet"
    with caplog.at_level(logging.WARNING):
        build = ingest(root, out, IngestConfig(on_missing="skip"))
    assert PV not in build.table["image_id"].to_pylist() and build.table.num_rows == 4
    rows = json.loads(sidecar_path(out).read_text())["rows"]
    assert rows["skipped_missing_image"] == 1 and "split_valid" not in rows
    assert "skipped 1 row(s) whose image is absent" in caplog.text and f"{root / 'valid.csv'} line 2" in caplog.text


def test_duplicate_path_names_file_and_lines(root: Path, tmp_path: Path) -> None:
    edit_csv(root / "train.csv", lambda header, rows: (header, rows + [rows[2]]))
    ingest_error(root, tmp_path, f"{root / 'train.csv'} lines 4, 7: duplicate Path "
                                 f"'{CHEXPERT_ROOT_NAME}/{P2L}'")


def test_path_listed_in_both_csvs(root: Path, tmp_path: Path) -> None:
    _, train_rows = read_csv_rows(root / "train.csv")
    edit_csv(root / "valid.csv", lambda header, rows: (header, rows + train_rows[:1]))
    ingest_error(root, tmp_path, f"image '{P2F}' is listed twice: {root / 'train.csv'} line 2 and "
                                 f"{root / 'valid.csv'} line 3")


@pytest.mark.parametrize("path", ["view1_frontal.jpg", "CheXpert-v1.0-small/train/patient00001/view1.jpg"])
def test_malformed_path(root: Path, tmp_path: Path, path: str) -> None:
    def corrupt(header, rows):
        rows[3][0] = path
        return header, rows

    edit_csv(root / "train.csv", corrupt)
    ingest_error(root, tmp_path, f"{root / 'train.csv'} line 5: Path {path!r} is not")


def test_unknown_frontal_lateral(root: Path, tmp_path: Path) -> None:
    def corrupt(header, rows):
        rows[0][header.index("Frontal/Lateral")] = "Oblique"
        return header, rows

    edit_csv(root / "valid.csv", corrupt)
    ingest_error(root, tmp_path, f"{root / 'valid.csv'} line 2: Frontal/Lateral is 'Oblique'")


@pytest.mark.parametrize("value", ["2.0", "positive"])
def test_label_value_outside_the_set(root: Path, tmp_path: Path, value: str) -> None:
    def corrupt(header, rows):
        rows[4][header.index("Pneumonia")] = value
        return header, rows

    edit_csv(root / "train.csv", corrupt)
    ingest_error(root, tmp_path, f"{root / 'train.csv'} line 6: column 'Pneumonia' has label value {value!r}")


def test_no_image_left_is_an_error(root: Path, tmp_path: Path) -> None:
    ingest_error(root, tmp_path, f"CheXpert root {root}: no image left for the manifest", "skipped_view: 6",
                 config=IngestConfig(views=("AP AXIAL",)))
