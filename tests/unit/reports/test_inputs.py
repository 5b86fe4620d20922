"""Report sources: manifest, directory of .txt, CSV and Parquet tables, and every kind of bad input."""

from __future__ import annotations

import logging

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.reports.inputs import ReportInputError, read_reports
from igcl.contracts.schema import MANIFEST_SCHEMA


def write_manifest(path, rows):
    """rows: (study_id, image_id, report_path) -> a MANIFEST_SCHEMA Parquet file."""
    labels = {name: None for name in CHEXPERT_OBSERVATIONS}
    table = pa.Table.from_pylist([
        {"study_id": s, "patient_id": "p1", "image_id": i, "split": "train", "image_path": f"/img/{i}.jpg",
         "view": "PA", "report_path": r, "labels": labels} for s, i, r in rows], schema=MANIFEST_SCHEMA)
    pq.write_table(table, path)
    return path


def test_directory_is_read_recursively_in_path_order_with_stems_as_study_ids(tmp_path):
    (tmp_path / "p10" / "p100").mkdir(parents=True)
    (tmp_path / "p10" / "p100" / "s2.txt").write_text("FINDINGS: No effusion.")
    (tmp_path / "p10" / "s1.txt").write_text("IMPRESSION: Normal.")
    (tmp_path / "a.txt").write_text("   \n\t")
    (tmp_path / "notes.md").write_text("ignored")
    reports = read_reports(tmp_path)
    assert reports.kind == "directory"
    assert reports.study_ids == ("a", "s2", "s1")  # a.txt, p10/p100/s2.txt, p10/s1.txt
    assert reports.texts[1] == "FINDINGS: No effusion."
    assert reports.empty == 1 and reports.undecodable == 0


def test_non_utf8_bytes_are_replaced_counted_and_logged_with_the_study(tmp_path, caplog):
    (tmp_path / "s7.txt").write_bytes(b"FINDINGS: small \xff\xfe effusion.")
    (tmp_path / "s8.txt").write_bytes("\ufeffIMPRESSION: clear \x00\x07 lungs.".encode())
    with caplog.at_level(logging.WARNING, logger="igcl.reports.inputs"):
        reports = read_reports(tmp_path)
    assert reports.texts[0] == "FINDINGS: small \ufffd\ufffd effusion."
    assert reports.texts[1] == "IMPRESSION: clear \x00\x07 lungs."  # BOM dropped, control characters kept
    assert reports.undecodable == 1
    assert "study s7" in caplog.text and "not valid UTF-8" in caplog.text


def test_duplicate_stem_in_a_directory_names_the_study_and_both_files(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "s5.txt").write_text("text")
    with pytest.raises(ReportInputError, match=r"duplicate study_id 's5'.*x/s5.txt and .*y/s5.txt"):
        read_reports(tmp_path)


def test_a_one_megabyte_report_is_read_whole(tmp_path):
    text = "FINDINGS: " + "Mild cardiomegaly. " * 55_000
    (tmp_path / "big.txt").write_text(text)
    assert read_reports(tmp_path).texts == (text,)
    assert len(text) > 1_000_000


def test_csv_with_quoted_newlines_empty_cells_and_extra_columns(tmp_path):
    path = tmp_path / "reports.csv"
    path.write_text('study_id,extra,text\ns1,a,"FINDINGS: line one.\nIMPRESSION: two."\ns2,b,\n10,c,"  "\n')
    reports = read_reports(path)
    assert reports.kind == "csv"
    assert reports.study_ids == ("s1", "s2", "10")  # numeric-looking ids stay strings
    assert reports.texts == ("FINDINGS: line one.\nIMPRESSION: two.", "", "  ")
    assert reports.empty == 2


def test_csv_that_is_not_utf8_is_decoded_with_replacement_and_counted(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("study_id,text\ns1,Pleural effusion \u00e9\n".encode("latin-1"))
    reports = read_reports(path)
    assert reports.texts == ("Pleural effusion \ufffd",)
    assert reports.undecodable == 1


def test_table_without_the_columns_names_the_file_and_its_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,report\ns1,x\n")
    with pytest.raises(ReportInputError, match=r"bad.csv: missing column\(s\) \['study_id', 'text'\].*\['id', 'report'\]"):
        read_reports(path)
    pq_path = tmp_path / "bad.parquet"
    pl.DataFrame({"study_id": ["s1"]}).write_parquet(pq_path)
    with pytest.raises(ReportInputError, match=r"bad.parquet: missing column\(s\) \['text'\]"):
        read_reports(pq_path)


def test_duplicate_or_empty_study_id_in_a_table_names_the_study_and_rows(tmp_path):
    path = tmp_path / "dup.parquet"
    pl.DataFrame({"study_id": ["s1", "s2", "s1"], "text": ["a", "b", "c"]}).write_parquet(path)
    with pytest.raises(ReportInputError, match=r"dup.parquet: duplicate study_id 's1' in rows 1 and 3"):
        read_reports(path)
    path = tmp_path / "blank.csv"
    path.write_text("study_id,text\ns1,a\n,b\n")
    with pytest.raises(ReportInputError, match=r"blank.csv: row 2 has an empty study_id"):
        read_reports(path)


def test_parquet_table_keeps_row_order(tmp_path):
    path = tmp_path / "reports.parquet"
    pl.DataFrame({"study_id": ["z", "a"], "text": ["No effusion.", None]}).write_parquet(path)
    reports = read_reports(path)
    assert (reports.kind, reports.study_ids, reports.texts) == ("parquet", ("z", "a"), ("No effusion.", ""))


def test_manifest_image_rows_become_one_report_per_study(tmp_path):
    (tmp_path / "s1.txt").write_text("FINDINGS: No effusion.")
    (tmp_path / "s2.txt").write_text("IMPRESSION: Edema.")
    manifest = write_manifest(tmp_path / "m.parquet", [
        ("s2", "i1", str(tmp_path / "s2.txt")), ("s1", "i2", str(tmp_path / "s1.txt")),
        ("s2", "i3", str(tmp_path / "s2.txt"))])
    reports = read_reports(manifest)
    assert reports.kind == "manifest"
    assert reports.study_ids == ("s2", "s1")  # first appearance
    assert reports.texts == ("IMPRESSION: Edema.", "FINDINGS: No effusion.")


def test_manifest_errors_name_the_study_and_the_path(tmp_path):
    missing = tmp_path / "gone.txt"
    with pytest.raises(ReportInputError, match=rf"study 's9': report file {missing} does not exist"):
        read_reports(write_manifest(tmp_path / "a.parquet", [("s9", "i1", str(missing))]))
    with pytest.raises(ReportInputError, match=r"study 's3' has no report_path"):
        read_reports(write_manifest(tmp_path / "b.parquet", [("s3", "i1", None)]))
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "y.txt").write_text("y")
    with pytest.raises(ReportInputError, match=r"study 's4' names two reports"):
        read_reports(write_manifest(tmp_path / "c.parquet", [("s4", "i1", str(tmp_path / "x.txt")),
                                                             ("s4", "i2", str(tmp_path / "y.txt"))]))


def test_unknown_or_absent_sources_are_errors(tmp_path):
    with pytest.raises(ReportInputError, match="no such report file or directory"):
        read_reports(tmp_path / "nothing.csv")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(ReportInputError, match="r.json: unknown report source"):
        read_reports(tmp_path / "r.json")
    (tmp_path / "junk.parquet").write_bytes(b"junk")
    with pytest.raises(ReportInputError, match="junk.parquet: not a readable Parquet file"):
        read_reports(tmp_path / "junk.parquet")
