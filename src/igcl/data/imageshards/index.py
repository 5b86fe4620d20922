"""The image index: which manifest row each row of the image array holds, with its ids and labels.

Index Parquet (``data/images/{manifest}.index.parquet``), one row per image in the array, in manifest order:

==============  =================  =============================================================================
column          type               meaning
==============  =================  =============================================================================
row             int64              row of the ``.npy`` array (0 .. N-1, in order)
study_id        string             as in the manifest
patient_id      string             as in the manifest
image_id        string             as in the manifest
split           string             as in the manifest (MIMIC train/validate/test; CheXpert train/valid/test)
view            string             PA / AP / FRONTAL (the views the stage kept)
<14 labels>     float32 (nullable) the manifest's ``labels`` struct flattened, CheXpert order, 1/0/-1/null
==============  =================  =============================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from igcl.labels import CHEXPERT_OBSERVATIONS

ID_COLUMNS: tuple[str, ...] = ("study_id", "patient_id", "image_id", "split", "view")

INDEX_SCHEMA = pa.schema(
    [("row", pa.int64())]
    + [(name, pa.string()) for name in ID_COLUMNS]
    + [(name, pa.float32()) for name in CHEXPERT_OBSERVATIONS]
)


def select_views(manifest: pa.Table, views: Sequence[str]) -> tuple[pa.Table, np.ndarray]:
    """The manifest rows whose ``view`` is in ``views``, and their 0-based row numbers in the manifest."""
    mask = pc.fill_null(pc.is_in(manifest["view"], value_set=pa.array(list(views), pa.string())), False)
    positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    return manifest.take(pa.array(positions, pa.int64())), positions


def build_index(selected: pa.Table) -> pa.Table:
    """The index table (:data:`INDEX_SCHEMA`) of manifest rows ``selected``, numbered 0 .. len-1."""
    labels_type = selected.schema.field("labels").type
    labels = selected["labels"].combine_chunks() if selected.num_rows else pa.array([], labels_type)
    columns = [pa.array(np.arange(selected.num_rows, dtype=np.int64))]
    columns += [selected[name].combine_chunks().cast(pa.string()) for name in ID_COLUMNS]
    columns += [labels.field(name).cast(pa.float32()) for name in CHEXPERT_OBSERVATIONS]
    return pa.Table.from_arrays(columns, schema=INDEX_SCHEMA)
