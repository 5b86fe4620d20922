"""Read a CheXpert v1.0 (or v1.0-small) tree into a manifest table.

Layout (Stanford ML Group; columns in :mod:`igcl.data.columns`)::

    ROOT/train.csv, ROOT/valid.csv   Path, Sex, Age, Frontal/Lateral, AP/PA, the 14 observations (1/0/-1/blank)
    ROOT/train/patient00001/study1/view1_frontal.jpg

``Path`` is relative to the root's parent (``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``),
so its first component is dropped whatever the root is called. Manifest rows (MANIFEST_SCHEMA): image_id the path
below the root (``train/patient00001/study1/view1_frontal.jpg``), study_id ``patient00001/study1``, patient_id
``patient00001``, split ``train`` or ``valid`` from the CSV's name, view LATERAL for a lateral image, otherwise the
AP/PA value (LL -> LATERAL, other values upper-cased, blank -> FRONTAL), image_path the root as given joined with
the image_id, report_path null (CheXpert ships no reports), labels the 14 observations as written.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from igcl.data.columns import CHEXPERT_CSVS
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
    normalise_view,
    parse_labels,
    read_csv,
    require_root,
)
from igcl.labels import CHEXPERT_OBSERVATIONS

logger = logging.getLogger(__name__)

# Path below the root: <split folder>/<patient>/<study>/<image>.
IMAGE_PATH_PATTERN = r"^[^/]+/([^/]+)/([^/]+)/[^/]+$"
FRONTAL_VIEW = "FRONTAL"  # a frontal image whose AP/PA cell is blank


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


def read_chexpert(root: str | os.PathLike[str], config: IngestConfig = IngestConfig()) -> ManifestBuild:
    """The evaluation manifest of a CheXpert tree: train.csv rows (split ``train``) and valid.csv rows (``valid``).

    Raises :class:`IngestError` naming the file and line of the first problem, including a Path listed in both
    CSVs and (with ``on_missing: error``) a listed image absent on disk.
    """
    root_dir = require_root(root, "CheXpert")
    frames = [read_chexpert_csv(root_dir / name, name.removesuffix(".csv")) for name in CHEXPERT_CSVS]
    images = pl.concat(frames)
    shared = images.filter(pl.col("image_id").is_duplicated())
    if shared.height:
        first = shared.filter(pl.col("image_id") == shared["image_id"][0])
        where = " and ".join(f"{c} line {n}" for c, n in first.select("csv", LINE).iter_rows())
        raise IngestError(f"image {shared['image_id'][0]!r} is listed twice: {where}")
    counts: dict[str, int] = {"csv_rows": images.height}
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
