"""Image index tables for evaluation and the CheXpert uncertainty policy.

Label policy (applied to both the probe's training labels and the test labels, per pathology):

==========  =====================  ==============================================================
raw value   meaning                target
==========  =====================  ==============================================================
1.0         positive               1
0.0         negative               0
NaN         not mentioned (blank)  0 — CheXpert's usual convention: an unmentioned finding is absent
-1.0        uncertain              ``ones``: 1 (U-Ones) · ``zeros``: 0 (U-Zeros) · ``ignore``: NaN,
                                   i.e. the image is dropped for that pathology only
==========  =====================  ==============================================================

A target of NaN means "not usable for this pathology"; every consumer masks on ``isfinite``.
CheXpert's ``valid`` split is labelled by radiologist consensus and holds no -1, so on real data the policy only
changes the training labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from igcl.labels import COMPETITION_PATHOLOGIES

INDEX_COLUMNS: tuple[str, ...] = ("row", "study_id", "patient_id", "image_id", "split", "view")


def apply_uncertain_policy(raw: np.ndarray, policy: str) -> np.ndarray:
    """Map raw CheXpert labels ``[n, P]`` (1 / 0 / -1 / NaN) to targets ``[n, P]`` float32 (1 / 0 / NaN=unusable)."""
    raw = np.asarray(raw, dtype=np.float32)
    finite = raw[np.isfinite(raw)]
    bad = np.setdiff1d(np.unique(finite), np.array([1.0, 0.0, -1.0], dtype=np.float32))
    if bad.size:
        raise ValueError(f"labels hold values {bad.tolist()}; expected 1, 0, -1 or blank")
    uncertain_target = {"ones": 1.0, "zeros": 0.0, "ignore": np.nan}
    if policy not in uncertain_target:
        raise ValueError(f"uncertain policy {policy!r} is not one of {sorted(uncertain_target)}")
    targets = np.where(np.isnan(raw), np.float32(0.0), raw).astype(np.float32)
    targets[raw == -1.0] = uncertain_target[policy]
    return targets


@dataclass(frozen=True)
class ImageTable:
    """Row-aligned metadata of one image shard's images (a subset of its index), labels of the 5 pathologies.

    ``rows`` [n] int64 (rows of the shard's ``[N, H, W]`` array), ``study_ids`` / ``patient_ids`` / ``splits`` /
    ``views`` [n] object arrays of str, ``raw_labels`` [n, 5] float32 (1 / 0 / -1 / NaN), columns in
    ``COMPETITION_PATHOLOGIES`` order.
    """

    rows: np.ndarray
    study_ids: np.ndarray
    patient_ids: np.ndarray
    splits: np.ndarray
    views: np.ndarray
    raw_labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, mask_or_index: np.ndarray) -> "ImageTable":
        return ImageTable(
            rows=self.rows[mask_or_index], study_ids=self.study_ids[mask_or_index],
            patient_ids=self.patient_ids[mask_or_index], splits=self.splits[mask_or_index],
            views=self.views[mask_or_index], raw_labels=self.raw_labels[mask_or_index], source=self.source)

    def select(self, split: str, views: tuple[str, ...]) -> "ImageTable":
        """The images of ``split`` whose view is one of ``views``; raises naming the file when none are left."""
        mask = (self.splits == split) & np.isin(self.views, np.array(views, dtype=object))
        if not mask.any():
            raise ValueError(f"{self.source}: no images in split {split!r} with view in {list(views)} "
                             f"(splits present: {sorted(set(self.splits.tolist()))})")
        return self.subset(mask)


def read_image_table(index_path: str | os.PathLike[str],
                     pathologies: tuple[str, ...] = COMPETITION_PATHOLOGIES) -> ImageTable:
    """Read an image shard's ``*.index.parquet`` (columns ``INDEX_COLUMNS`` + one float column per observation)."""
    path = Path(index_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image index")
    try:
        names = pq.read_schema(path).names
    except Exception as err:  # pyarrow raises several types for a non-Parquet file
        raise ValueError(f"{path}: not a readable Parquet file ({err})") from err
    missing = [c for c in (*INDEX_COLUMNS, *pathologies) if c not in names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} (has {names})")
    table = pq.read_table(path, columns=[*INDEX_COLUMNS, *pathologies])
    labels = np.stack([table.column(p).to_numpy(zero_copy_only=False).astype(np.float32) for p in pathologies],
                      axis=1) if len(table) else np.zeros((0, len(pathologies)), np.float32)

    def strings(name: str) -> np.ndarray:
        values = table.column(name).to_pylist()
        if any(v is None for v in values):
            raise ValueError(f"{path}: column {name!r} has null at row {values.index(None)}")
        return np.array(values, dtype=object)

    return ImageTable(rows=table.column("row").to_numpy().astype(np.int64), study_ids=strings("study_id"),
                      patient_ids=strings("patient_id"), splits=strings("split"), views=strings("view"),
                      raw_labels=labels, source=str(path))
