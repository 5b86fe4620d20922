"""Report sources for the parse stage: one ``(study_id, text)`` per report, from whatever holds them.

:func:`read_reports` accepts

* a **manifest** (Parquet with :data:`~igcl.contracts.schema.MANIFEST_SCHEMA`, recognised by its ``report_path``
  column): the image rows are reduced to studies in order of first appearance and each study's ``report_path`` is
  read. Every image row of a study must name the same report; a null ``report_path`` (the CheXpert manifest) or a
  missing file is an error naming the study and the path;
* a **directory of ``.txt`` files**, searched recursively (MIMIC-CXR's ``files/pXX/pSUBJECT/sSTUDY.txt`` layout
  works as is): study_id is the file stem, reports in sorted relative-path order;
* a **table** with columns ``study_id`` and ``text`` as CSV (``.csv``, header row, RFC 4180 quoting, so texts may
  hold newlines) or Parquet (``.parquet``/``.pq``), rows in file order.

Bad input, and what happens to it:

=====================================  =====================================================================
empty or whitespace-only text          kept; parsed to an empty graph; counted in ``ReportSet.empty``
null ``text`` cell in a table          treated as an empty report (same as above)
bytes that are not UTF-8               decoded with U+FFFD replacement characters; each such report (or CSV file)
                                       is logged as a warning naming the study (file) and counted in
                                       ``ReportSet.undecodable``; it is still parsed
control characters, 1 MB reports       kept as they are; the parser handles them
the same study_id twice                :class:`ReportInputError` naming the study and the file(s)
missing report file (manifest)         :class:`ReportInputError` naming the study and the path
table without study_id/text columns    :class:`ReportInputError` naming the file and the columns it has
null or empty study_id                 :class:`ReportInputError` naming the file and the row
=====================================  =====================================================================
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from igcl.contracts.schema import MANIFEST_SCHEMA, read_table

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("study_id", "text")
PARQUET_SUFFIXES = (".parquet", ".pq")


class ReportInputError(ValueError):
    """A report source cannot be read into unique ``(study_id, text)`` pairs; the message names file and study."""


@dataclass(frozen=True)
class ReportSet:
    """Reports in their source order.

    ``study_ids[i]`` and ``texts[i]`` belong together; ``kind`` is ``manifest``, ``directory``, ``csv`` or
    ``parquet``; ``empty`` counts empty or whitespace-only texts; ``undecodable`` counts reports (or, for CSV, the
    file) whose bytes were not valid UTF-8 and were decoded with replacement characters.
    """

    source: Path
    kind: str
    study_ids: tuple[str, ...]
    texts: tuple[str, ...]
    undecodable: int = 0

    def __len__(self) -> int:
        return len(self.study_ids)

    @property
    def empty(self) -> int:
        return sum(1 for text in self.texts if not text.strip())


def decode_report(data: bytes, *, study_id: str, path: Path) -> tuple[str, bool]:
    """UTF-8 text of ``data`` (a BOM dropped); invalid bytes become U+FFFD and are logged. Returns (text, lossy)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError as err:
        log.warning("study %s: %s is not valid UTF-8 (%s); decoded with replacement characters", study_id, path, err)
        return data.decode("utf-8-sig", errors="replace"), True


def read_reports(path: str | os.PathLike[str]) -> ReportSet:
    """Read every report under ``path`` (manifest, directory of .txt, CSV or Parquet table); see the module doc."""
    path = Path(path)
    if path.is_dir():
        return read_report_directory(path)
    if not path.is_file():
        raise ReportInputError(f"{path}: no such report file or directory")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            names = pq.read_schema(path).names
        except Exception as err:  # pyarrow raises several types for a file that is not Parquet
            raise ReportInputError(f"{path}: not a readable Parquet file ({err})") from err
        if "report_path" in names:
            return read_manifest_reports(path)
        return read_report_table(path)
    if suffix == ".csv":
        return read_report_table(path)
    raise ReportInputError(f"{path}: unknown report source; expected a manifest or table (.parquet), "
                           f"a table (.csv) with columns {list(TABLE_COLUMNS)}, or a directory of .txt files")


def read_report_directory(directory: Path) -> ReportSet:
    """Reports from ``directory/**/*.txt``; study_id = file stem; sorted by relative path."""
    files = sorted(directory.rglob("*.txt"), key=lambda p: p.relative_to(directory).as_posix())
    seen: dict[str, Path] = {}
    study_ids, texts, lossy = [], [], 0
    for file in files:
        study_id = file.stem
        if study_id in seen:
            raise ReportInputError(f"{directory}: duplicate study_id {study_id!r}: {seen[study_id]} and {file}")
        seen[study_id] = file
        text, bad = decode_report(file.read_bytes(), study_id=study_id, path=file)
        study_ids.append(study_id)
        texts.append(text)
        lossy += bad
    if not files:
        log.warning("%s: no .txt reports found", directory)
    return ReportSet(directory, "directory", tuple(study_ids), tuple(texts), lossy)


def read_manifest_reports(manifest: Path) -> ReportSet:
    """One report per study of an image manifest: the ``report_path`` of its rows, read from disk."""
    table = read_table(manifest, MANIFEST_SCHEMA)
    report_of: dict[str, str] = {}
    for study_id, report_path in zip(table.column("study_id").to_pylist(), table.column("report_path").to_pylist()):
        if report_path is None:
            raise ReportInputError(f"{manifest}: study {study_id!r} has no report_path (null); the parse stage "
                                   "needs a manifest with reports (data/manifests/pretrain.parquet)")
        known = report_of.setdefault(study_id, report_path)
        if known != report_path:
            raise ReportInputError(f"{manifest}: study {study_id!r} names two reports: {known} and {report_path}")
    study_ids, texts, lossy = [], [], 0
    for study_id, report_path in report_of.items():
        file = Path(report_path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise ReportInputError(f"{manifest}: study {study_id!r}: report file {file} does not exist") from None
        except OSError as err:
            raise ReportInputError(f"{manifest}: study {study_id!r}: cannot read report file {file} ({err})") from err
        text, bad = decode_report(data, study_id=study_id, path=file)
        study_ids.append(study_id)
        texts.append(text)
        lossy += bad
    return ReportSet(manifest, "manifest", tuple(study_ids), tuple(texts), lossy)


def read_report_table(path: Path) -> ReportSet:
    """A CSV or Parquet table with ``study_id`` and ``text`` columns (other columns are ignored)."""
    lossy = 0
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        text, lossy = decode_report(data, study_id=f"(every row of {path.name})", path=path)
        try:
            frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.PolarsError as err:
            raise ReportInputError(f"{path}: not a readable CSV file ({err})") from err
    else:
        try:
            frame = pl.read_parquet(path)
        except pl.exceptions.PolarsError as err:
            raise ReportInputError(f"{path}: not a readable Parquet file ({err})") from err
    missing = [name for name in TABLE_COLUMNS if name not in frame.columns]
    if missing:
        raise ReportInputError(f"{path}: missing column(s) {missing}; a report table needs columns "
                               f"{list(TABLE_COLUMNS)}, this one has {frame.columns}")
    study_ids = frame.get_column("study_id").cast(pl.String).to_list()
    texts = frame.get_column("text").cast(pl.String).fill_null("").to_list()
    seen: dict[str, int] = {}
    for row, study_id in enumerate(study_ids):
        # Row numbers count data rows from 1 (the CSV header is row 0).
        if study_id is None or not study_id.strip():
            raise ReportInputError(f"{path}: row {row + 1} has an empty study_id")
        if study_id in seen:
            raise ReportInputError(f"{path}: duplicate study_id {study_id!r} in rows {seen[study_id] + 1} "
                                   f"and {row + 1}")
        seen[study_id] = row
    kind = "csv" if path.suffix.lower() == ".csv" else "parquet"
    return ReportSet(path, kind, tuple(study_ids), tuple(texts), int(lossy))
