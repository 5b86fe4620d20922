"""Read a CheXpert v1.0 (or v1.0-small) tree, with its test labels when present, into a manifest table.

Layout (Stanford ML Group / Stanford AIMI; columns in :mod:`igcl.data.columns`)::

    ROOT/train.csv, ROOT/valid.csv   Path, Sex, Age, Frontal/Lateral, AP/PA, the 14 observations (1/0/-1/blank)
    ROOT/train/patient00001/study1/view1_frontal.jpg
    ROOT/test_labels.csv             optional (CheXlocalize): Path, the 14 observations (1/0 only)
    ROOT/groundtruth.csv             optional (rajpurkarlab/cheXpert-test-set-labels): Study, the 14 observations
    ROOT/test/patient64741/study1/view1_frontal.jpg

``Path`` in train.csv / valid.csv is relative to the root's parent
(``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``), so its first component is dropped whatever
the root is called. Manifest rows (MANIFEST_SCHEMA): image_id the path below the root
(``train/patient00001/study1/view1_frontal.jpg``), study_id ``patient00001/study1``, patient_id ``patient00001``,
split ``train`` or ``valid`` from the CSV's name, view LATERAL for a lateral image, otherwise the AP/PA value
(LL -> LATERAL, other values upper-cased, blank -> FRONTAL), image_path the root as given joined with the
image_id, report_path null (CheXpert ships no reports), labels the 14 observations as written.

The test set, when ``test_labels.csv`` (preferred) or ``groundtruth.csv`` is at the root, adds rows of split
``test``. test_labels.csv's Path is relative to the root (``test/patient64741/study1/view1_frontal.jpg``); one
that starts with the root's name, as train.csv's do, is read too. groundtruth.csv lists studies
(``test/patient64741/study1``); a study's images are the ``view<N>_frontal.jpg`` / ``view<N>_lateral.jpg`` files
in its folder, each with the study's labels. Neither file has an AP/PA column, so the view comes from the file
name: LATERAL for ``*_lateral.*``, FRONTAL for ``*_frontal.*``. Labels are a radiologist consensus: each must be
1 or 0 (1.0 / 0.0); a blank, -1 or other value is an error naming the file, line and column.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from igcl.data.columns import (
    CHEXPERT_CSVS,
    CHEXPERT_GROUNDTRUTH_COLUMNS,
    CHEXPERT_GROUNDTRUTH_CSV,
    CHEXPERT_TEST_COLUMNS,
    CHEXPERT_TEST_CSV,
    CHEXPERT_TEST_SPLIT,
)
from igcl.data.manifest import (
    LINE,
    IngestConfig,
    IngestError,
    ManifestBuild,
    build_table,
    check_not_null,
    check_unique,
    count_kept,
    existing,
    handle_missing,
    join_root,
    keep_views,
    list_folders,
    normalise_view,
    parse_labels,
    read_csv,
    require_root,
)
from igcl.labels import CHEXPERT_OBSERVATIONS

logger = logging.getLogger(__name__)

# Path below the root: <split folder>/<patient>/<study>/<image>.
IMAGE_PATH_PATTERN = r"^[^/]+/([^/]+)/([^/]+)/[^/]+$"
FRONTAL_VIEW = "FRONTAL"  # a frontal image whose AP/PA cell is blank, or a test image (no AP/PA column)
STUDY_PATH_PATTERN = r"^[^/]+/[^/]+/[^/]+$"  # <split folder>/<patient>/<study>
# The side in a test image's file name (view1_frontal.jpg, view2_lateral.jpg).
SIDE_PATTERN = r"(?i)_(frontal|lateral)\.[^/.]+$"
GROUNDTRUTH_IMAGE_PATTERN = r"(?i)/view\d+_(frontal|lateral)\.jpg$"
CONSENSUS_VALUES = (1.0, 0.0)


def read_chexpert_csv(path: Path, split: str) -> pl.DataFrame:
    """One CheXpert CSV as image_id, patient_id, study_id, split, view, 14 float32 labels, line, csv.

    Raises :class:`IngestError` naming file and line for a blank or malformed Path, a duplicate Path, a
    Frontal/Lateral value other than Frontal or Lateral, or a label value other than 1, 0, -1 or blank.
    """
    df = read_csv(path, ("Path", "Frontal/Lateral", "AP/PA", *CHEXPERT_OBSERVATIONS), what="CheXpert")
    check_not_null(df, ("Path", "Frontal/Lateral"), path)
    check_unique(df, "Path", path)
    df = df.with_columns(pl.col("Path").str.replace(r"^[^/]*/", "").alias("image_id"))
    malformed = df.filter(~pl.col("image_id").str.contains(IMAGE_PATH_PATTERN) | ~pl.col("Path").str.contains("/"))
    if malformed.height:
        raise IngestError(f"{path} line {malformed[LINE][0]}: Path {malformed['Path'][0]!r} is not "
                          f"<root>/<split>/<patient>/<study>/<image>")
    side = pl.col("Frontal/Lateral").str.to_lowercase()
    bad_side = df.filter(~side.is_in(("frontal", "lateral")))
    if bad_side.height:
        raise IngestError(f"{path} line {bad_side[LINE][0]}: Frontal/Lateral is {bad_side['Frontal/Lateral'][0]!r}, "
                          f"expected Frontal or Lateral")
    df = parse_labels(df, path)
    patient = pl.col("image_id").str.extract(IMAGE_PATH_PATTERN, 1)
    study = pl.col("image_id").str.extract(IMAGE_PATH_PATTERN, 2)
    return df.with_columns(
        patient.alias("patient_id"),
        (patient + "/" + study).alias("study_id"),
        pl.lit(split).alias("split"),
        pl.when(side == "lateral").then(pl.lit("LATERAL"))
        .otherwise(normalise_view(pl.col("AP/PA"), empty=FRONTAL_VIEW)).alias("view"),
        pl.lit(str(path)).alias("csv"),
    ).drop("Path", "Frontal/Lateral", "AP/PA")


def _below_root(column: str, components: int) -> pl.Expr:
    """``column`` relative to the root: a value with one component more than ``components`` (it starts with the
    root's own name, as train.csv's Paths do) loses its first; a trailing ``/`` is ignored."""
    value = pl.col(column).str.strip_chars_end("/")
    return (pl.when(value.str.count_matches("/") == components).then(value.str.replace(r"^[^/]*/", ""))
            .otherwise(value))


def parse_consensus_labels(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Cast the 14 observation columns to float32, checking each value is 1 or 0 (a radiologist consensus has no
    uncertain or blank label). Raise naming file, line, column and value of the first other value."""
    casts = []
    for name in CHEXPERT_OBSERVATIONS:
        value = pl.col(name).cast(pl.Float32, strict=False)
        bad = df.filter(pl.col(name).is_null() | value.is_null() | ~value.is_in(CONSENSUS_VALUES))
        if bad.height:
            shown = "blank" if bad[name][0] is None else repr(bad[name][0])
            raise IngestError(f"{path} line {bad[LINE][0]}: column {name!r} has label value {shown}; expected 1 or "
                              f"0 (test labels are a radiologist consensus) ({bad.height} such row(s) in this "
                              f"column)")
        casts.append(value.alias(name))
    return df.with_columns(casts)


def _test_rows(df: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Test images (``image_id`` set, labels parsed) as the manifest's columns plus line and csv."""
    patient = pl.col("image_id").str.extract(IMAGE_PATH_PATTERN, 1)
    study = pl.col("image_id").str.extract(IMAGE_PATH_PATTERN, 2)
    side = pl.col("image_id").str.extract(SIDE_PATTERN, 1).str.to_lowercase()
    return df.select(
        "image_id", LINE, *CHEXPERT_OBSERVATIONS,
        patient.alias("patient_id"),
        (patient + "/" + study).alias("study_id"),
        pl.lit(CHEXPERT_TEST_SPLIT).alias("split"),
        pl.when(side == "lateral").then(pl.lit("LATERAL")).otherwise(pl.lit(FRONTAL_VIEW)).alias("view"),
        pl.lit(str(path)).alias("csv"),
    )


def read_test_labels_csv(path: Path) -> pl.DataFrame:
    """CheXlocalize's test_labels.csv (one row per image) as read_chexpert_csv's columns, split ``test``.

    Raises :class:`IngestError` naming file and line for a blank, malformed or duplicate Path, a file name that
    names no view (``*_frontal.jpg`` / ``*_lateral.jpg``), or a label other than 1 or 0.
    """
    df = read_csv(path, CHEXPERT_TEST_COLUMNS, what="CheXpert test labels")
    check_not_null(df, ("Path",), path)
    check_unique(df, "Path", path)
    df = df.with_columns(_below_root("Path", 4).alias("image_id"))
    malformed = df.filter(~pl.col("image_id").str.contains(IMAGE_PATH_PATTERN))
    if malformed.height:
        raise IngestError(f"{path} line {malformed[LINE][0]}: Path {malformed['Path'][0]!r} is not "
                          f"[<root>/]<split>/<patient>/<study>/<image>")
    sideless = df.filter(~pl.col("image_id").str.contains(SIDE_PATTERN))
    if sideless.height:
        raise IngestError(f"{path} line {sideless[LINE][0]}: Path {sideless['Path'][0]!r} names no view: expected "
                          f"a file named view<N>_frontal.jpg or view<N>_lateral.jpg (the file has no AP/PA column)")
    return _test_rows(parse_consensus_labels(df, path), path)


def read_groundtruth_csv(path: Path, root_dir: Path, config: IngestConfig, counts: dict[str, int]) -> pl.DataFrame:
    """rajpurkarlab's groundtruth.csv (one row per study) as one row per image found in each study's folder
    (``view<N>_frontal.jpg`` / ``view<N>_lateral.jpg``), each with its study's labels; split ``test``.

    A study folder holding no such image is an absent image under ``config.on_missing`` (error naming file and
    line, or skipped and counted as ``skipped_missing_test_study``). Raises :class:`IngestError` naming file and
    line for a blank, malformed or duplicate Study, or a label other than 1 or 0.
    """
    df = read_csv(path, CHEXPERT_GROUNDTRUTH_COLUMNS, what="CheXpert test ground truth")
    check_not_null(df, ("Study",), path)
    check_unique(df, "Study", path)
    df = df.with_columns(_below_root("Study", 3).alias("study_dir"))
    malformed = df.filter(~pl.col("study_dir").str.contains(STUDY_PATH_PATTERN))
    if malformed.height:
        raise IngestError(f"{path} line {malformed[LINE][0]}: Study {malformed['Study'][0]!r} is not "
                          f"[<root>/]<split>/<patient>/<study>")
    check_unique(df, "study_dir", path)
    df = parse_consensus_labels(df, path)
    names = list_folders(root_dir, df["study_dir"].unique().sort().to_list(), desc="listing test study folders")
    found = (pl.DataFrame({"image_id": names}).filter(pl.col("image_id").str.contains(GROUNDTRUTH_IMAGE_PATTERN))
             .with_columns(pl.col("image_id").str.replace(r"/[^/]*$", "").alias("study_dir")))
    df = df.join(found, on="study_dir", how="left").sort(LINE, "image_id")  # a join's row order is not promised
    df = handle_missing(df, df["image_id"].is_not_null(), on_missing=config.on_missing, what="test study image",
                        describe=pl.format("{}/view<N>_frontal.jpg or view<N>_lateral.jpg (study listed in {} line "
                                           "{})", pl.lit(str(root_dir)) + "/" + pl.col("study_dir"),
                                           pl.lit(str(path)), LINE),
                        count_key="skipped_missing_test_study", counts=counts)
    return _test_rows(df, path)


def read_test_split(root_dir: Path, config: IngestConfig, counts: dict[str, int]) -> pl.DataFrame | None:
    """The test split's images from test_labels.csv, else groundtruth.csv; None when the root has neither."""
    labels, groundtruth = root_dir / CHEXPERT_TEST_CSV, root_dir / CHEXPERT_GROUNDTRUTH_CSV
    if labels.exists():
        if groundtruth.exists():
            logger.warning("%s and %s both present: reading the test split from %s (one row per image)", labels,
                           groundtruth.name, labels.name)
        return read_test_labels_csv(labels)
    if groundtruth.exists():
        return read_groundtruth_csv(groundtruth, root_dir, config, counts)
    return None


def read_chexpert(root: str | os.PathLike[str], config: IngestConfig = IngestConfig()) -> ManifestBuild:
    """The evaluation manifest of a CheXpert tree: train.csv rows (split ``train``), valid.csv rows (``valid``)
    and, when the root holds test_labels.csv or groundtruth.csv, the test set's rows (``test``).

    Raises :class:`IngestError` naming the file and line of the first problem, including a Path listed in two
    CSVs (or twice in one) and (with ``on_missing: error``) a listed image absent on disk.
    """
    root_dir = require_root(root, "CheXpert")
    frames = [read_chexpert_csv(root_dir / name, name.removesuffix(".csv")) for name in CHEXPERT_CSVS]
    counts: dict[str, int] = {}
    test = read_test_split(root_dir, config, counts)
    if test is not None:
        frames.append(test.select(frames[0].columns))
    images = pl.concat(frames)
    shared = images.filter(pl.col("image_id").is_duplicated())
    if shared.height:
        first = shared.filter(pl.col("image_id") == shared["image_id"][0])
        where = " and ".join(f"{c} line {n}" for c, n in first.select("csv", LINE).iter_rows())
        raise IngestError(f"image {shared['image_id'][0]!r} is listed twice: {where}")
    counts = {"csv_rows": images.height} | counts
    images = keep_views(images, config.views, counts)

    present = existing(root_dir, images["image_id"], desc="listing study folders")
    images = images.with_columns(join_root(root, pl.col("image_id")).alias("image_path"),
                                 pl.lit(None, dtype=pl.String).alias("report_path"))
    images = handle_missing(images, present, on_missing=config.on_missing, what="image",
                            describe=pl.format("{} (listed in {} line {})", "image_path", "csv", LINE),
                            count_key="skipped_missing_image", counts=counts)
    table = build_table(images)
    count_kept(table, counts, source=f"CheXpert root {root}")
    logger.info("CheXpert %s: %d image(s) of %d kept (%s)", root, table.num_rows, counts["csv_rows"],
                ", ".join(f"{k}: {v}" for k, v in counts.items() if k.startswith("split_")))
    return ManifestBuild(table, counts)
