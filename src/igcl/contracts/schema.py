"""The Parquet contracts between stages (DESIGN.md, "Stages and their contracts").

Every reader of these tables calls :func:`read_table` with the expected schema, so a file written by another
version, truncated, or from elsewhere fails at the boundary with its path and the column that differs.

Manifest (``data/manifests/{pretrain,eval}.parquet``), one row per image:

==============  ==========================  ====================================================================
column          type                        meaning
==============  ==========================  ====================================================================
study_id        string                      MIMIC: ``s50414267``; CheXpert: ``patient00001/study1``
patient_id      string                      MIMIC: ``p10000032``; CheXpert: ``patient00001``
image_id        string                      MIMIC: the dicom_id; CheXpert: the path below the root
split           string                      MIMIC: train / validate / test; CheXpert: train / valid (/ test)
image_path      string                      path of the JPEG (the configured root joined with the relative path)
view            string                      PA, AP, LATERAL or FRONTAL (CheXpert, no AP/PA); others upper-cased
report_path     string (nullable)           the study's free-text report (pretrain); null for CheXpert
labels          struct<14 × float32>        CheXpert observations, 1 / 0 / -1 / null, CSV order
==============  ==========================  ====================================================================

Graph shards (``data/graphs/part-*.parquet``), one row per report:

==============  =======================================================================================
study_id        string
nodes           list<struct<text: string, label: string, start: int32, end: int32, section: string>>
                label ∈ OBS-DP, OBS-U, OBS-DA, ANAT-DP; start/end are character offsets into the report
                (end exclusive); section is ``findings``, ``impression`` or ``text`` (no header found)
edges           list<struct<src: int32, dst: int32, relation: string>>
                src/dst index ``nodes``; relation ∈ modify, located_at, suggestive_of (head → tail)
==============  =======================================================================================

Graph labels (``data/graphs/labels.parquet``): ``study_id`` + the 14 observations as float32 columns.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from igcl.labels import CHEXPERT_OBSERVATIONS, ENTITY_LABELS, RELATIONS  # noqa: F401 (re-exported)

SECTIONS: tuple[str, ...] = ("findings", "impression", "text")

LABELS_STRUCT = pa.struct([(name, pa.float32()) for name in CHEXPERT_OBSERVATIONS])

MANIFEST_SCHEMA = pa.schema([
    ("study_id", pa.string()),
    ("patient_id", pa.string()),
    ("image_id", pa.string()),
    ("split", pa.string()),
    ("image_path", pa.string()),
    ("view", pa.string()),
    ("report_path", pa.string()),
    ("labels", LABELS_STRUCT),
])

NODE_STRUCT = pa.struct([
    ("text", pa.string()),
    ("label", pa.string()),
    ("start", pa.int32()),
    ("end", pa.int32()),
    ("section", pa.string()),
])
EDGE_STRUCT = pa.struct([
    ("src", pa.int32()),
    ("dst", pa.int32()),
    ("relation", pa.string()),
])
GRAPH_SCHEMA = pa.schema([
    ("study_id", pa.string()),
    ("nodes", pa.list_(NODE_STRUCT)),
    ("edges", pa.list_(EDGE_STRUCT)),
])

GRAPH_LABELS_SCHEMA = pa.schema([("study_id", pa.string())] + [(name, pa.float32()) for name in CHEXPERT_OBSERVATIONS])


class SchemaError(ValueError):
    """A Parquet file does not hold the table its reader expects."""


def check_schema(actual: pa.Schema, expected: pa.Schema, *, where: str) -> None:
    """Raise :class:`SchemaError` naming ``where`` and the first column that is missing or of another type."""
    for field in expected:
        idx = actual.get_field_index(field.name)
        if idx < 0:
            raise SchemaError(f"{where}: missing column {field.name!r} (has {actual.names})")
        if not actual.field(idx).type.equals(field.type):
            raise SchemaError(f"{where}: column {field.name!r} has type {actual.field(idx).type}, "
                              f"expected {field.type}")


def read_table(path: str | os.PathLike[str], schema: pa.Schema) -> pa.Table:
    """Read a Parquet file and check it against ``schema``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise SchemaError(f"{path}: not a readable Parquet file ({err})") from err
    check_schema(table.schema, schema, where=str(path))
    return table.select(schema.names)


def write_table(table: pa.Table, path: str | os.PathLike[str], schema: pa.Schema) -> None:
    """Write ``table`` cast to ``schema`` atomically (temp file, then rename)."""
    from igcl.io import atomic_path

    table = table.select(schema.names).cast(schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
