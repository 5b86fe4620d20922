"""Read a MIMIC-CXR-JPG 2.0.0 tree (and the MIMIC-CXR reports) into a manifest table.

Layout (PhysioNet, file names in :mod:`igcl.data.columns`)::

    ROOT/mimic-cxr-2.0.0-metadata.csv.gz   one row per image: dicom_id, subject_id, study_id, ..., ViewPosition, ...
    ROOT/mimic-cxr-2.0.0-split.csv.gz      dicom_id, study_id, subject_id, split (train / validate / test)
    ROOT/mimic-cxr-2.0.0-chexpert.csv.gz   subject_id, study_id, the 14 observations alphabetically (1/0/-1/blank)
    ROOT/files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg
    REPORTS_ROOT/files/p10/p10000032/s50414267.txt   (MIMIC-CXR, a separate download; defaults to ROOT)

Manifest rows (MANIFEST_SCHEMA): study_id ``s50414267``, patient_id ``p10000032``, image_id the dicom_id, split
from the split file, view from ViewPosition (LL and LATERAL -> LATERAL, blank -> UNKNOWN, other values
upper-cased), image_path / report_path the roots as given joined with the relative paths, labels from the chexpert
file (all null for a study it does not list). The metadata and split files must list the same images.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from igcl.data.columns import MIMIC_CHEXPERT_CSV, MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV, MIMIC_SPLITS
from igcl.data.manifest import (
    LINE,
    UNKNOWN_VIEW,
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
    parse_int_column,
    parse_labels,
    read_csv,
    require_root,
)
from igcl.labels import CHEXPERT_OBSERVATIONS

logger = logging.getLogger(__name__)

IDS = ("subject_id", "study_id")


def read_metadata(path: Path) -> pl.DataFrame:
    """dicom_id, subject_id, study_id (canonical integer strings), ViewPosition, line; one row per dicom_id."""
    df = read_csv(path, ("dicom_id", *IDS, "ViewPosition"), what="MIMIC-CXR-JPG metadata")
    check_not_null(df, ("dicom_id", *IDS), path)
    check_unique(df, "dicom_id", path)
    for column in IDS:
        df = parse_int_column(df, column, path)
    return df


def read_split(path: Path) -> pl.DataFrame:
    """dicom_id, study_id, subject_id, split, line; one row per dicom_id, split in train / validate / test."""
    df = read_csv(path, ("dicom_id", *IDS, "split"), what="MIMIC-CXR-JPG split")
    check_not_null(df, ("dicom_id", *IDS, "split"), path)
    check_unique(df, "dicom_id", path)
    for column in IDS:
        df = parse_int_column(df, column, path)
    bad = df.filter(~pl.col("split").is_in(MIMIC_SPLITS))
    if bad.height:
        raise IngestError(f"{path} line {bad[LINE][0]}: split {bad['split'][0]!r} is not one of {list(MIMIC_SPLITS)}")
    return df


def read_chexpert_labels(path: Path) -> pl.DataFrame:
    """subject_id, study_id, the 14 observations as float32 (null for blank), line; one row per study_id."""
    df = read_csv(path, (*IDS, *CHEXPERT_OBSERVATIONS), what="MIMIC-CXR-JPG chexpert labels")
    check_not_null(df, IDS, path)
    for column in IDS:
        df = parse_int_column(df, column, path)
    check_unique(df, "study_id", path)
    return parse_labels(df, path)


def attach_split(meta: pl.DataFrame, split: pl.DataFrame, meta_path: Path, split_path: Path) -> pl.DataFrame:
    """The metadata with each image's split; raise when the two files do not list the same images and ids."""
    joined = meta.join(split.rename({"study_id": "split_study_id", "subject_id": "split_subject_id",
                                     LINE: "split_line"}), on="dicom_id", how="left")
    missing = joined.filter(pl.col("split").is_null())
    if missing.height:
        raise IngestError(f"{split_path}: dicom_id {missing['dicom_id'][0]!r} ({meta_path} line "
                          f"{missing[LINE][0]}) is missing from the split file ({missing.height} image(s) in all)")
    extra = split.join(meta, on="dicom_id", how="anti")
    if extra.height:
        raise IngestError(f"{split_path} line {extra[LINE][0]}: dicom_id {extra['dicom_id'][0]!r} is not in "
                          f"{meta_path} ({extra.height} image(s) in all)")
    for column in IDS:
        differ = joined.filter(pl.col(column) != pl.col(f"split_{column}"))
        if differ.height:
            row = differ.row(0, named=True)
            raise IngestError(f"{split_path} line {row['split_line']}: dicom_id {row['dicom_id']!r} has {column} "
                              f"{row[f'split_{column}']}, but {meta_path} line {row[LINE]} says {row[column]}")
    return joined.drop("split_study_id", "split_subject_id", "split_line")


def attach_labels(images: pl.DataFrame, labels: pl.DataFrame, meta_path: Path, labels_path: Path,
                  counts: dict[str, int]) -> pl.DataFrame:
    """Each image's study labels; studies absent from the chexpert file get all-null labels (counted)."""
    joined = images.join(labels.rename({"subject_id": "labels_subject_id", LINE: "labels_line"}),
                         on="study_id", how="left")
    differ = joined.filter(pl.col("labels_subject_id").is_not_null()
                           & (pl.col("labels_subject_id") != pl.col("subject_id")))
    if differ.height:
        row = differ.row(0, named=True)
        raise IngestError(f"{labels_path} line {row['labels_line']}: study_id {row['study_id']} has subject_id "
                          f"{row['labels_subject_id']}, but {meta_path} line {row[LINE]} says {row['subject_id']}")
    unlabelled = joined.filter(pl.col("labels_line").is_null())["study_id"].n_unique()
    counts["unlabelled_studies"] = unlabelled
    if unlabelled:
        logger.info("%d stud(ies) absent from %s: their labels are all null", unlabelled, labels_path)
    # The left join already leaves every label of an unlisted study null.
    return joined


def read_mimic(root: str | os.PathLike[str], reports_root: str | os.PathLike[str] | None = None,
               config: IngestConfig = IngestConfig()) -> ManifestBuild:
    """The pretraining manifest of a MIMIC-CXR-JPG tree (module docstring: layout and mapping).

    reports_root: folder holding ``files/pXX/pSUBJECT/sSTUDY.txt``; None: ``root``.
    Raises :class:`IngestError` naming the file and line (or study) of the first problem.
    """
    root_dir = require_root(root, "MIMIC-CXR-JPG")
    reports_root = root if reports_root is None else reports_root
    reports_dir = require_root(reports_root, "MIMIC-CXR reports")
    meta_path, split_path, labels_path = (root_dir / name for name in
                                          (MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV, MIMIC_CHEXPERT_CSV))
    meta = read_metadata(meta_path)
    split = read_split(split_path)
    labels = read_chexpert_labels(labels_path)
    images = attach_split(meta, split, meta_path, split_path)
    counts: dict[str, int] = {"metadata_rows": meta.height}

    study_dir = pl.format("files/p{}/p{}/s{}", pl.col("subject_id").str.slice(0, 2), pl.col("subject_id"),
                          pl.col("study_id"))
    images = images.with_columns(
        (study_dir + "/" + pl.col("dicom_id") + ".jpg").alias("image_rel"),
        (study_dir + ".txt").alias("report_rel"),
        normalise_view(pl.col("ViewPosition"), empty=UNKNOWN_VIEW).alias("view"),
    ).with_columns(
        join_root(root, pl.col("image_rel")).alias("image_path"),
        join_root(reports_root, pl.col("report_rel")).alias("report_path"),
    )
    images = keep_views(images, config.views, counts)

    present = existing(root_dir, images["image_rel"], desc="listing study folders")
    images = handle_missing(images, present, on_missing=config.on_missing, what="image",
                            describe=pl.format("{} (listed in {} line {})", "image_path", pl.lit(str(meta_path)),
                                               LINE),
                            count_key="skipped_missing_image", counts=counts)

    studies = images.group_by("study_id", maintain_order=True).agg(pl.col("report_rel", "report_path", LINE).first())
    has_report = existing(reports_dir, studies["report_rel"], desc="listing patient folders")
    kept_studies = handle_missing(studies, has_report, on_missing=config.on_missing, what="report",
                                  describe=pl.format("{} for study s{} (its images are listed from {} line {})",
                                                     "report_path", "study_id", pl.lit(str(meta_path)), LINE),
                                  count_key="skipped_missing_report_studies", counts=counts)
    before = images.height
    images = images.join(kept_studies.select("study_id"), on="study_id", how="semi")
    counts["skipped_missing_report_images"] = before - images.height

    images = attach_labels(images, labels, meta_path, labels_path, counts)
    images = images.with_columns(
        ("s" + pl.col("study_id")).alias("study_id"),
        ("p" + pl.col("subject_id")).alias("patient_id"),
        pl.col("dicom_id").alias("image_id"),
    )
    table = build_table(images)
    count_kept(table, counts, source=f"MIMIC-CXR-JPG root {root}")
    logger.info("MIMIC-CXR-JPG %s: %d image(s) of %d kept (%s)", root, table.num_rows, meta.height,
                ", ".join(f"{k}: {v}" for k, v in counts.items() if k.startswith("split_")))
    return ManifestBuild(table, counts)
