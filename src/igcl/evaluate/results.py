"""The evaluate stage's tidy Parquet tables (``results/eval/{method}/seed{N}/*.parquet``) and how to write them.

``linear.parquet`` / ``finetune.parquet`` (``fraction``) and ``fewshot.parquet`` (``k``), one row per
(setting, seed, pathology incl. ``"mean"``):

===========  =======  ======================================================================================
method       string   pretraining method
pretrain_seed int64   the checkpoint's pretraining seed (``results/eval/{method}/seed{N}/``)
task         string   linear | finetune | fewshot
fraction/k   float64  label fraction of the train split's patients (linear, finetune) / int64 positives (fewshot)
seed         int64    sampling (and fine-tuning) seed
pathology    string   one of the 5 competition pathologies, or ``mean``
auroc        float64  sklearn AUROC on the CheXpert valid split (NaN when undefined, see status)
ci_low/high  float64  percentile bootstrap CI over the test images (mean: bootstrap of the mean AUROC)
n_pos, n     int64    test positives / test images usable for the pathology (mean: sum of n_pos / all images)
n_train_pos  int64    training positives used (mean: sum)
n_train      int64    training images used for the pathology (mean: images in the subset)
n_skipped    int64    bootstrap resamples skipped for lacking a class
status       string   ok, or why the AUROC is missing / partial
===========  =======  ======================================================================================

``scores.parquet``: the per-image test scores behind those AUROCs (for ROC curves and the paired comparisons of
:mod:`igcl.evaluate.compare`): method, pretrain_seed, task, fraction (null
for fewshot), k (null unless fewshot), seed, pathology, row (shard row), study_id, label (1 / 0), score.

``retrieval.parquet``: method, pretrain_seed, task (``retrieval``), k, seed, pathology (query class or ``mean``), precision
(mean precision@k over the queries), ci_low, ci_high (bootstrap over queries), n_pos (queries of the class),
n (queries = candidate reports). Zero rows for a method without a report encoder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pyarrow as pa

from igcl.shards.schema import write_table

_COMMON_HEAD = [("method", pa.string()), ("pretrain_seed", pa.int64()), ("task", pa.string())]
_METRIC_TAIL = [
    ("seed", pa.int64()), ("pathology", pa.string()), ("auroc", pa.float64()), ("ci_low", pa.float64()),
    ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()), ("n_train_pos", pa.int64()),
    ("n_train", pa.int64()), ("n_skipped", pa.int64()), ("status", pa.string()),
]
FRACTION_METRICS_SCHEMA = pa.schema(_COMMON_HEAD + [("fraction", pa.float64())] + _METRIC_TAIL)
FEWSHOT_METRICS_SCHEMA = pa.schema(_COMMON_HEAD + [("k", pa.int64())] + _METRIC_TAIL)
SCORES_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("fraction", pa.float64()), ("k", pa.int64()), ("seed", pa.int64()), ("pathology", pa.string()),
    ("row", pa.int64()), ("study_id", pa.string()), ("label", pa.int8()), ("score", pa.float64()),
])
RETRIEVAL_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("k", pa.int64()), ("seed", pa.int64()), ("pathology", pa.string()), ("precision", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()),
])

OUTPUT_FILES: dict[str, pa.Schema] = {
    "linear.parquet": FRACTION_METRICS_SCHEMA,
    "fewshot.parquet": FEWSHOT_METRICS_SCHEMA,
    "finetune.parquet": FRACTION_METRICS_SCHEMA,
    "retrieval.parquet": RETRIEVAL_SCHEMA,
    "scores.parquet": SCORES_SCHEMA,
}


def write_rows(rows: Iterable[Mapping], path: str | os.PathLike[str], schema: pa.Schema) -> int:
    """Write dict ``rows`` as a Parquet table of ``schema`` atomically; returns the row count."""
    rows = list(rows)
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    table = pa.table({name: pa.array(values, type=schema.field(name).type) for name, values in columns.items()})
    write_table(table, path, schema)
    return len(rows)
