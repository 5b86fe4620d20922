"""The MIMIC-CXR-JPG reader on the hand-made tree of ingest_fixtures: mapping, determinism, and every bad input."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import polars as pl
import pytest
from ingest_fixtures import MIMIC_IMAGES, edit_csv, leftovers, mimic_study_dir, write_mimic_tree

from igcl.data.columns import MIMIC_CHEXPERT_CSV, MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV
from igcl.data.manifest import IngestConfig, IngestError, existing, write_manifest
from igcl.data.mimic import read_mimic
from igcl.io import sidecar_path
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import MANIFEST_SCHEMA, read_table

D = {i + 1: image.dicom_id for i, image in enumerate(MIMIC_IMAGES)}  # metadata line - 1 -> dicom_id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_mimic_tree(tmp_path / "mimic-cxr-jpg")


def ingest(root: Path, out: Path, config: IngestConfig = IngestConfig(), reports_root: Path | None = None):
    build = read_mimic(root, reports_root, config)
    write_manifest(build, out, config=config, seconds=0.0)
    return build


def ingest_error(root: Path, tmp_path: Path, *fragments: str, config: IngestConfig = IngestConfig(),
                 reports_root: Path | None = None) -> str:
    """Assert ingest fails with a message holding every fragment and leaves no file in the output folder."""
    out_dir = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest(root, out_dir / "pretrain.parquet", config, reports_root)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert leftovers(out_dir) == []
    return message


def rows_of(table) -> list[tuple]:
    return [(r["study_id"], r["patient_id"], r["image_id"], r["split"], r["view"]) for r in table.to_pylist()]


# --- what a good tree gives ---------------------------------------------------------------------------------------


def test_views_splits_ids_and_order(root: Path) -> None:
    build = read_mimic(root)
    # Sorted by (study_id, image_id); AP AXIAL (line 7) and the blank ViewPosition (line 8) are not in the default
    # views; "ap" is upper-cased, LL becomes LATERAL.
    assert rows_of(build.table) == [
        ("s50414267", "p10000032", D[1], "train", "PA"),
        ("s50414267", "p10000032", D[2], "train", "LATERAL"),
        ("s51234567", "p11000011", D[8], "test", "PA"),
        ("s53189527", "p10000032", D[3], "train", "AP"),
        ("s57375967", "p10000764", D[5], "validate", "LATERAL"),
        ("s57375967", "p10000764", D[4], "validate", "AP"),
    ]
    assert build.counts == {"metadata_rows": 8, "skipped_view": 2, "skipped_missing_image": 0,
                            "skipped_missing_report_studies": 0, "skipped_missing_report_images": 0,
                            "unlabelled_studies": 1, "kept": 6, "split_test": 1, "split_train": 3,
                            "split_validate": 2}


def test_other_views_kept_upper_cased_when_configured(root: Path) -> None:
    build = read_mimic(root, config=IngestConfig(views=("AP AXIAL", "UNKNOWN")))
    assert rows_of(build.table) == [("s57375967", "p10000764", D[6], "validate", "AP AXIAL"),
                                    ("s57375967", "p10000764", D[7], "validate", "UNKNOWN")]
    assert build.counts["skipped_view"] == 6


def test_labels_from_the_chexpert_file_and_null_for_unlisted_study(root: Path) -> None:
    labels = {r["image_id"]: r["labels"] for r in read_mimic(root).table.to_pylist()}
    assert list(labels[D[4]]) == list(CHEXPERT_OBSERVATIONS)  # struct fields in CheXpert CSV order
    expected = dict.fromkeys(CHEXPERT_OBSERVATIONS)
    assert labels[D[4]] == expected | {"Cardiomegaly": 1.0, "Edema": -1.0, "Pleural Effusion": 0.0,
                                       "Support Devices": 1.0}
    assert labels[D[1]] == labels[D[2]] == expected | {"No Finding": 1.0}
    assert labels[D[8]] == expected | {"Atelectasis": -1.0, "Lung Opacity": 1.0, "Pneumothorax": 0.0}
    assert labels[D[3]] == expected  # study 53189527 is absent from the chexpert file


def test_paths_join_the_roots_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mimic_tree(tmp_path / "mimic", reports_root=tmp_path / "reports")
    monkeypatch.chdir(tmp_path)
    rows = {r["image_id"]: r for r in read_mimic("mimic", "reports").table.to_pylist()}
    assert rows[D[8]]["image_path"] == f"mimic/files/p11/p11000011/s51234567/{D[8]}.jpg"
    assert rows[D[8]]["report_path"] == "reports/files/p11/p11000011/s51234567.txt"
    absolute = {r["image_id"]: r for r in read_mimic(tmp_path / "mimic", tmp_path / "reports").table.to_pylist()}
    assert absolute[D[1]]["image_path"] == f"{tmp_path}/mimic/files/p10/p10000032/s50414267/{D[1]}.jpg"
    assert Path(absolute[D[1]]["image_path"]).is_file() and Path(absolute[D[1]]["report_path"]).is_file()


def test_same_inputs_give_byte_identical_manifests_that_round_trip(root: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "pretrain.parquet", tmp_path / "b" / "pretrain.parquet"
    build = ingest(root, first)
    ingest(root, second)
    assert first.read_bytes() == second.read_bytes()
    assert read_table(first, MANIFEST_SCHEMA).equals(build.table)
    meta = json.loads(sidecar_path(first).read_text())
    assert meta["rows"]["kept"] == 6 and meta["rows"]["unlabelled_studies"] == 1
    assert meta["config"] == {"on_missing": "error", "views": ["PA", "AP", "LATERAL", "FRONTAL"]}


# --- bad input: every error names the file and row or study, and leaves nothing behind ----------------------------


def test_missing_root(tmp_path: Path) -> None:
    ingest_error(tmp_path / "absent", tmp_path, "MIMIC-CXR-JPG root", str(tmp_path / "absent"), "no such directory")


def test_missing_reports_root(root: Path, tmp_path: Path) -> None:
    ingest_error(root, tmp_path, "reports root", str(tmp_path / "absent"), reports_root=tmp_path / "absent")


@pytest.mark.parametrize("name", [MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV, MIMIC_CHEXPERT_CSV])
def test_missing_csv(root: Path, tmp_path: Path, name: str) -> None:
    (root / name).unlink()
    ingest_error(root, tmp_path, f"{root / name}: no such file")


def test_renamed_column_names_file_column_and_what_it_has(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_METADATA_CSV,
             lambda header, rows: ([("View Position" if c == "ViewPosition" else c) for c in header], rows))
    message = ingest_error(root, tmp_path, str(root / MIMIC_METADATA_CSV), "missing column(s) ['ViewPosition']")
    assert "'View Position'" in message and "'dicom_id'" in message


def test_missing_label_column(root: Path, tmp_path: Path) -> None:
    def drop_edema(header, rows):
        keep = [i for i, c in enumerate(header) if c != "Edema"]
        return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]

    edit_csv(root / MIMIC_CHEXPERT_CSV, drop_edema)
    ingest_error(root, tmp_path, str(root / MIMIC_CHEXPERT_CSV), "['Edema']")


def test_absent_image_is_an_error_naming_file_and_csv_line(root: Path, tmp_path: Path) -> None:
    image = root / mimic_study_dir(MIMIC_IMAGES[1]) / f"{D[2]}.jpg"
    image.unlink()
    ingest_error(root, tmp_path, "image absent", str(image), f"{root / MIMIC_METADATA_CSV} line 3", "1 in all")


def test_absent_image_is_skipped_and_counted(root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (root / mimic_study_dir(MIMIC_IMAGES[1]) / f"{D[2]}.jpg").unlink()
    out = tmp_path / "out" / "pretrain.parquet"
    with caplog.at_level(logging.WARNING):
        build = ingest(root, out, IngestConfig(on_missing="skip"))
    assert D[2] not in build.table["image_id"].to_pylist() and build.table.num_rows == 5
    assert json.loads(sidecar_path(out).read_text())["rows"]["skipped_missing_image"] == 1
    assert "skipped 1 row(s) whose image is absent" in caplog.text and D[2] in caplog.text


def test_absent_study_folder_counts_every_image(root: Path, tmp_path: Path) -> None:
    for image in MIMIC_IMAGES[3:7]:
        (root / mimic_study_dir(image) / f"{image.dicom_id}.jpg").unlink()
    (root / mimic_study_dir(MIMIC_IMAGES[3])).rmdir()
    build = read_mimic(root, config=IngestConfig(on_missing="skip"))
    assert build.counts["skipped_missing_image"] == 2  # the two of study 57375967 in the default views
    assert "s57375967" not in build.table["study_id"].to_pylist()


def test_absent_report_is_an_error_naming_study(root: Path, tmp_path: Path) -> None:
    report = root / f"{mimic_study_dir(MIMIC_IMAGES[3])}.txt"
    report.unlink()
    ingest_error(root, tmp_path, "report absent", str(report), "study s57375967",
                 f"{root / MIMIC_METADATA_CSV} line 5")


def test_absent_report_skips_the_study(root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (root / f"{mimic_study_dir(MIMIC_IMAGES[3])}.txt").unlink()
    out = tmp_path / "out" / "pretrain.parquet"
    with caplog.at_level(logging.WARNING):
        build = ingest(root, out, IngestConfig(on_missing="skip"))
    assert "s57375967" not in build.table["study_id"].to_pylist() and build.table.num_rows == 4
    rows = json.loads(sidecar_path(out).read_text())["rows"]
    assert rows["skipped_missing_report_studies"] == 1 and rows["skipped_missing_report_images"] == 2
    assert "whose report is absent" in caplog.text


def test_duplicate_dicom_id_names_both_lines(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_METADATA_CSV, lambda header, rows: (header, rows + [rows[0]]))
    ingest_error(root, tmp_path, f"{root / MIMIC_METADATA_CSV} lines 2, 10: duplicate dicom_id {D[1]!r}")


def test_duplicate_dicom_id_in_split_file(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_SPLIT_CSV, lambda header, rows: (header, rows[:3] + [rows[1]] + rows[3:]))
    ingest_error(root, tmp_path, f"{root / MIMIC_SPLIT_CSV} lines 3, 5: duplicate dicom_id {D[2]!r}")


def test_duplicate_study_in_chexpert_file(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_CHEXPERT_CSV, lambda header, rows: (header, rows + [rows[1]]))
    ingest_error(root, tmp_path, f"{root / MIMIC_CHEXPERT_CSV} lines 3, 5: duplicate study_id '57375967'")


def test_not_gzip(root: Path, tmp_path: Path) -> None:
    (root / MIMIC_METADATA_CSV).write_bytes(b"dicom_id,subject_id\n")
    ingest_error(root, tmp_path, f"{root / MIMIC_METADATA_CSV}: unreadable gzip file")


def test_truncated_gzip(root: Path, tmp_path: Path) -> None:
    path = root / MIMIC_SPLIT_CSV
    path.write_bytes(path.read_bytes()[:-20])
    ingest_error(root, tmp_path, f"{path}: unreadable gzip file")


@pytest.mark.parametrize("value", ["2.0", "yes", "0.5"])
def test_label_value_outside_the_set(root: Path, tmp_path: Path, value: str) -> None:
    def set_edema(header, rows):
        rows[1][header.index("Edema")] = value
        return header, rows

    edit_csv(root / MIMIC_CHEXPERT_CSV, set_edema)
    ingest_error(root, tmp_path, f"{root / MIMIC_CHEXPERT_CSV} line 3: column 'Edema' has label value {value!r}")


def test_integer_label_spelling_is_accepted(root: Path) -> None:
    def integers(header, rows):
        return header, [[v.removesuffix(".0") for v in row] for row in rows]

    edit_csv(root / MIMIC_CHEXPERT_CSV, integers)
    labels = {r["image_id"]: r["labels"] for r in read_mimic(root).table.to_pylist()}
    assert labels[D[4]]["Edema"] == -1.0 and labels[D[4]]["Cardiomegaly"] == 1.0


def test_dicom_missing_from_split(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_SPLIT_CSV, lambda header, rows: (header, rows[:4] + rows[5:]))
    ingest_error(root, tmp_path, str(root / MIMIC_SPLIT_CSV), f"dicom_id {D[5]!r}",
                 f"{root / MIMIC_METADATA_CSV} line 6", "missing from the split file")


def test_split_lists_an_image_the_metadata_does_not(root: Path, tmp_path: Path) -> None:
    edit_csv(root / MIMIC_SPLIT_CSV,
             lambda header, rows: (header, rows + [["0000-extra", "50414267", "10000032", "train"]]))
    ingest_error(root, tmp_path, f"{root / MIMIC_SPLIT_CSV} line 10: dicom_id '0000-extra' is not in",
                 str(root / MIMIC_METADATA_CSV))


def test_split_disagrees_on_study(root: Path, tmp_path: Path) -> None:
    def move(header, rows):
        rows[2][header.index("study_id")] = "50414267"
        return header, rows

    edit_csv(root / MIMIC_SPLIT_CSV, move)
    ingest_error(root, tmp_path, f"{root / MIMIC_SPLIT_CSV} line 4: dicom_id {D[3]!r} has study_id 50414267",
                 f"{root / MIMIC_METADATA_CSV} line 4 says 53189527")


def test_unknown_split_value(root: Path, tmp_path: Path) -> None:
    def rename(header, rows):
        rows[0][header.index("split")] = "val"
        return header, rows

    edit_csv(root / MIMIC_SPLIT_CSV, rename)
    ingest_error(root, tmp_path, f"{root / MIMIC_SPLIT_CSV} line 2: split 'val' is not one of")


def test_non_integer_subject_id(root: Path, tmp_path: Path) -> None:
    def corrupt(header, rows):
        rows[3][header.index("subject_id")] = "p10000764"
        return header, rows

    edit_csv(root / MIMIC_METADATA_CSV, corrupt)
    ingest_error(root, tmp_path, f"{root / MIMIC_METADATA_CSV} line 5: column 'subject_id' is 'p10000764'")


def test_blank_dicom_id(root: Path, tmp_path: Path) -> None:
    def blank(header, rows):
        rows[6][0] = ""
        return header, rows

    edit_csv(root / MIMIC_METADATA_CSV, blank)
    ingest_error(root, tmp_path, f"{root / MIMIC_METADATA_CSV} line 8: column 'dicom_id' is blank")


def test_labels_file_disagrees_on_subject(root: Path, tmp_path: Path) -> None:
    def move(header, rows):
        rows[2][0] = "10000032"
        return header, rows

    edit_csv(root / MIMIC_CHEXPERT_CSV, move)
    ingest_error(root, tmp_path, f"{root / MIMIC_CHEXPERT_CSV} line 4: study_id 51234567 has subject_id 10000032",
                 f"{root / MIMIC_METADATA_CSV} line 9 says 11000011")


def test_gzip_of_a_binary_file_is_not_a_csv(root: Path, tmp_path: Path) -> None:
    (root / MIMIC_METADATA_CSV).write_bytes(gzip.compress(bytes(range(256)) * 4))
    ingest_error(root, tmp_path, f"{root / MIMIC_METADATA_CSV}: not a readable CSV file")


def test_existence_check_over_many_folder_batches(tmp_path: Path) -> None:
    # 700 folders = 3 thread-pool batches; every 7th file absent, every 100th folder absent altogether.
    relative, expected = [], []
    for f in range(700):
        folder = tmp_path / f"files/p1{f % 10}/f{f}"
        if f % 100:
            folder.mkdir(parents=True)
        for n in range(2):
            name = f"files/p1{f % 10}/f{f}/{n}.jpg"
            present = bool(f % 100) and (2 * f + n) % 7 != 0
            if present:
                (tmp_path / name).touch()
            relative.append(name)
            expected.append(present)
    assert existing(tmp_path, pl.Series(relative), desc="test").to_list() == expected


def test_no_image_left_is_an_error(root: Path, tmp_path: Path) -> None:
    for image in MIMIC_IMAGES:
        (root / mimic_study_dir(image) / f"{image.dicom_id}.jpg").unlink()
    ingest_error(root, tmp_path, f"MIMIC-CXR-JPG root {root}: no image left for the manifest",
                 "skipped_missing_image: 6", config=IngestConfig(on_missing="skip"))
