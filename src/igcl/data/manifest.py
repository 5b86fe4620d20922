"""What the MIMIC-CXR-JPG and CheXpert readers share: the ingest config, vectorised CSV reading and checks, one
directory listing per folder for existence checks, and building / writing the manifest table.

The manifest's schema is :data:`igcl.contracts.schema.MANIFEST_SCHEMA` (one row per image: study_id, patient_id,
image_id, split, image_path, view, report_path, labels struct of the 14 CheXpert observations as float32
1 / 0 / -1 / null). Readers work on polars DataFrames whose columns are all strings as the CSV wrote them, plus a
``line`` column: the 1-based line of the row in its CSV file (the header is line 1), so that every error can name
the file and line a user has to look at.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
from tqdm import tqdm

from igcl.config import to_dict
from igcl.io import sidecar_path, write_sidecar
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import LABELS_STRUCT, MANIFEST_SCHEMA, write_table
from igcl.data.ingest_config import CANONICAL_VIEWS, DEFAULT_VIEWS, ON_MISSING, IngestConfig  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

# View names that mean a lateral projection; every other value is kept as written, upper-cased.
LATERAL_ALIASES = ("LATERAL", "LL")
UNKNOWN_VIEW = "UNKNOWN"  # MIMIC rows with an empty ViewPosition
LABEL_VALUES = (1.0, 0.0, -1.0)
LINE = "line"
# Listing folders is I/O-bound (and slow on network file systems), so more threads than cores pay off.
LISTING_THREADS = 16
LISTING_BATCH = 256  # folders per thread-pool task


class IngestError(ValueError):
    """A data set root, CSV or image that does not match the official layout; the message names file and row."""


@dataclass
class ManifestBuild:
    """A reader's result: the manifest table (MANIFEST_SCHEMA, sorted by study_id, image_id) and row counts.

    counts: ``kept`` plus every reason rows were dropped (``skipped_*``) and other tallies worth keeping in the
    sidecar (e.g. ``unlabelled_studies``), and ``split_<name>`` rows per split.
    """

    table: pa.Table
    counts: dict[str, int] = field(default_factory=dict)


# --- reading CSVs -------------------------------------------------------------------------------------------------


def require_root(root: str | os.PathLike[str], what: str) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise IngestError(f"{what} root {path}: no such directory")
    return path


def read_csv(path: Path, required: Iterable[str], *, what: str) -> pl.DataFrame:
    """Read a CSV (``.gz``: gzip-compressed) as all-string columns plus ``line``; check ``required`` columns.

    Blank cells are null. Errors name the file: missing, not gzip, truncated, malformed, or a required column
    missing (listing the columns it has).
    """
    if not path.is_file():
        raise IngestError(f"{path}: no such file (the {what} CSV)")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise IngestError(f"{path}: unreadable gzip file ({err})") from err
    try:
        df = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as err:
        raise IngestError(f"{path}: not a readable CSV file ({err})") from err
    required = list(required)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise IngestError(f"{path}: missing column(s) {missing}; the file has {df.columns}")
    # A quoted empty cell ("") reads as an empty string; blank means null everywhere in igcl.
    df = df.select(required).with_columns(pl.col(c).str.strip_chars().replace("", None) for c in required)
    return df.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))


def _first_rows(df: pl.DataFrame, n: int = 3) -> str:
    return "; ".join(", ".join(f"{k}={v!r}" for k, v in row.items()) for row in df.head(n).iter_rows(named=True))


def check_not_null(df: pl.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Raise naming file, line and column of the first blank cell among ``columns``."""
    for column in columns:
        blank = df.filter(pl.col(column).is_null())
        if blank.height:
            raise IngestError(f"{path} line {blank[LINE][0]}: column {column!r} is blank "
                              f"({blank.height} row(s) in all)")


def check_unique(df: pl.DataFrame, key: str, path: Path) -> None:
    """Raise naming the file, the duplicated value and the lines it appears on."""
    dup = df.filter(pl.col(key).is_duplicated())
    if dup.height:
        value = dup[key][0]
        lines = dup.filter(pl.col(key) == value)[LINE].to_list()
        raise IngestError(f"{path} lines {', '.join(map(str, lines))}: duplicate {key} {value!r} "
                          f"({dup[key].n_unique()} duplicated value(s) in all)")


def parse_int_column(df: pl.DataFrame, column: str, path: Path) -> pl.DataFrame:
    """Replace ``column`` by its canonical decimal string (``"00123"`` -> ``"123"``); raise on a non-integer."""
    parsed = pl.col(column).cast(pl.Int64, strict=False)
    bad = df.filter(parsed.is_null() | (parsed < 0))
    if bad.height:
        raise IngestError(f"{path} line {bad[LINE][0]}: column {column!r} is {bad[column][0]!r}, "
                          f"expected a non-negative integer")
    return df.with_columns(parsed.cast(pl.String).alias(column))


def parse_labels(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Cast the 14 observation columns to float32, checking each value is 1, 0, -1 or blank.

    Raise naming file, line, column and value of the first other value.
    """
    casts = []
    for name in CHEXPERT_OBSERVATIONS:
        value = pl.col(name).cast(pl.Float32, strict=False)
        bad = df.filter(pl.col(name).is_not_null() & (value.is_null() | ~value.is_in(LABEL_VALUES)))
        if bad.height:
            raise IngestError(f"{path} line {bad[LINE][0]}: column {name!r} has label value {bad[name][0]!r}; "
                              f"expected 1, 0, -1 or blank ({bad.height} such row(s) in this column)")
        casts.append(value.alias(name))
    return df.with_columns(casts)


# --- views ------------------------------------------------------------------------------------------------------


def normalise_view(expr: pl.Expr, *, empty: str) -> pl.Expr:
    """Upper-case and strip a view name; LL and LATERAL become LATERAL; null or blank becomes ``empty``."""
    upper = expr.str.strip_chars().str.to_uppercase()
    return (pl.when(upper.is_null() | (upper == "")).then(pl.lit(empty))
            .when(upper.is_in(LATERAL_ALIASES)).then(pl.lit("LATERAL"))
            .otherwise(upper))


def keep_views(df: pl.DataFrame, views: tuple[str, ...], counts: dict[str, int]) -> pl.DataFrame:
    """Rows whose ``view`` is in ``views``; logs and counts the others per view."""
    kept = df.filter(pl.col("view").is_in(views))
    dropped = df.height - kept.height
    counts["skipped_view"] = dropped
    if dropped:
        per_view = df.filter(~pl.col("view").is_in(views)).group_by("view").len().sort("view")
        logger.info("dropped %d image(s) whose view is not in %s: %s", dropped, list(views),
                    ", ".join(f"{v}: {n}" for v, n in per_view.iter_rows()))
    return kept


# --- existence checks ---------------------------------------------------------------------------------------------


def _list_folders(root: str, folders: list[str]) -> list[str]:
    """``folder/name`` for every entry of every folder (below ``root``); a missing folder lists nothing."""
    entries = []
    for folder in folders:
        try:
            names = os.listdir(os.path.join(root, folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as err:
            raise IngestError(f"{os.path.join(root, folder)}: cannot list folder ({err})") from err
        prefix = folder + "/"
        entries.extend(prefix + name for name in names)
    return entries


def existing(root: Path, relative: pl.Series, *, desc: str, threads: int = LISTING_THREADS) -> pl.Series:
    """Which ``relative`` paths (posix, below ``root``, each inside a folder) exist: a boolean Series aligned
    with ``relative``.

    One ``os.listdir`` per distinct parent folder instead of one stat per file (MIMIC-CXR-JPG has 377,110 images
    in 227,835 study folders), in batches of folders over a thread pool: listing waits on the file system
    (network file systems especially), and batches keep the pool's per-task overhead small.
    """
    folders = relative.str.replace(r"/[^/]*$", "").unique().sort().to_list()
    names = list_folders(root, folders, desc=desc, threads=threads)
    return relative.is_in(names.implode())


def list_folders(root: Path, folders: list[str], *, desc: str, threads: int = LISTING_THREADS) -> pl.Series:
    """``folder/name`` (posix, below ``root``) of every entry of every folder in ``folders``; a missing folder
    lists nothing. Batches of folders over a thread pool (see :func:`existing`)."""
    batches = [folders[i:i + LISTING_BATCH] for i in range(0, len(folders), LISTING_BATCH)]
    names: list[str] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        listings = pool.map(_list_folders, [os.fspath(root)] * len(batches), batches)
        with tqdm(total=len(folders), desc=desc, unit="folder", disable=len(folders) < 10_000, leave=False) as bar:
            for batch, listing in zip(batches, listings):
                names.extend(listing)
                bar.update(len(batch))
    return pl.Series(names, dtype=pl.String)


def handle_missing(df: pl.DataFrame, present: pl.Series, *, on_missing: str, describe: pl.Expr, what: str,
                   count_key: str, counts: dict[str, int]) -> pl.DataFrame:
    """Apply the ``on_missing`` policy to rows whose file is absent (``present`` false).

    describe: a string expression naming the absent file and where it is listed (used in the error and log).
    """
    absent = df.filter(~present)
    counts[count_key] = absent.height if on_missing == "skip" else 0
    if not absent.height:
        return df
    first = absent.select(describe.alias("d"))["d"][0]
    if on_missing == "error":
        raise IngestError(f"{what} absent: {first} ({absent.height} in all; set ingest.on_missing: skip to "
                          f"drop them)")
    logger.warning("skipped %d row(s) whose %s is absent (on_missing: skip), e.g. %s", absent.height, what, first)
    return df.filter(present)


# --- the manifest -------------------------------------------------------------------------------------------------


def join_root(root: str | os.PathLike[str], relative: pl.Expr) -> pl.Expr:
    """The root as given joined with a relative path: a relative root gives relative paths, so manifests built
    from the same inputs are byte-identical wherever they run."""
    return pl.lit(os.path.join(os.fspath(root), "")) + relative


def build_table(df: pl.DataFrame) -> pa.Table:
    """The manifest table from a DataFrame with MANIFEST_SCHEMA's string columns and 14 float32 label columns,
    sorted by (study_id, image_id) so the same inputs give the same file."""
    df = df.sort("study_id", "image_id")
    labels = df.select(CHEXPERT_OBSERVATIONS).to_arrow()
    struct = pa.StructArray.from_arrays(
        [labels.column(name).combine_chunks().cast(pa.float32()) for name in CHEXPERT_OBSERVATIONS],
        fields=list(LABELS_STRUCT))
    columns = {name: df[name].to_arrow().cast(pa.string()) for name in MANIFEST_SCHEMA.names if name != "labels"}
    columns["labels"] = struct
    return pa.table(columns, schema=MANIFEST_SCHEMA)


def count_kept(table: pa.Table, counts: dict[str, int], *, source: str) -> None:
    """Add ``kept`` and ``split_<name>`` counts; raise when no row is left (an empty manifest would only fail
    later, far from its cause)."""
    if table.num_rows == 0:
        reasons = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise IngestError(f"{source}: no image left for the manifest ({reasons})")
    counts["kept"] = table.num_rows
    splits = pl.from_arrow(table.select(["split"])).group_by("split").len().sort("split")
    for split, n in splits.iter_rows():
        counts[f"split_{split}"] = n


def write_manifest(build: ManifestBuild, out: str | os.PathLike[str], *, config: IngestConfig,
                   seconds: float, extra: Mapping[str, object] | None = None) -> None:
    """Write the manifest atomically, then its ``.meta.json`` sidecar (config, row counts, seconds)."""
    write_table(build.table, out, MANIFEST_SCHEMA)
    try:
        write_sidecar(out, config=to_dict(config), rows=build.counts, seconds=seconds, extra=extra)
    except BaseException:
        # A manifest without its provenance is not an output we stand by.
        Path(out).unlink(missing_ok=True)
        sidecar_path(out).unlink(missing_ok=True)
        raise
