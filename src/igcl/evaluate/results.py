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
auroc        float64  sklearn AUROC on the CheXpert test split (valid when the data have no test split; NaN when
                      undefined, see status)
ci_low/high  float64  percentile bootstrap CI over the test images (mean: bootstrap of the mean AUROC)
n_pos, n     int64    test positives / test images usable for the pathology (mean: sum of n_pos / all images)
n_train_pos  int64    training positives used (mean: sum)
n_train      int64    training images used for the pathology (mean: images in the subset)
n_skipped    int64    bootstrap resamples skipped for lacking a class
status       string   ok, or why the AUROC is missing / partial
===========  =======  ======================================================================================

``scores.parquet``: the per-image test scores behind those AUROCs (for ROC curves and the paired comparisons of
:mod:`igcl.summary.compare`): method, pretrain_seed, task, fraction (null
for fewshot and zeroshot), k (null unless fewshot), seed, pathology, row (shard row), study_id, label (1 / 0),
score, split (the CheXpert split of the test images: ``test`` when the data have one, else ``valid``).

``zeroshot.parquet`` (methods with a report encoder; zero rows otherwise): metric ``auroc`` (one row per
pathology and ``mean``, with bootstrap CIs over the test images) or ``accuracy`` (pathology ``all``: image→prompt
accuracy on the single-label test images, ``n_pos`` of them correct, ``chance`` the accuracy of guessing by class
share), value, ci_low, ci_high, n_pos, n, n_skipped, chance, prompts (what was embedded), split, status. The
per-image zero-shot probabilities are in ``scores.parquet`` as task ``zeroshot``.

``thresholds.parquet`` (when the data have a CheXpert test split, so that valid can choose thresholds; zero rows
otherwise): task (linear | zeroshot), fraction (null for zeroshot), seed, pathology (or ``mean``), rule, threshold,
metric (mcc | f1 | sensitivity | specificity), value, ci_low, ci_high, n_pos, n, n_skipped, threshold_split, split,
status. See :mod:`igcl.evaluate.thresholds`.

``radiologists.parquet`` (when a reader CSV applies): task, fraction, seed, reader, pathology, reader_fpr,
reader_tpr, model_tpr (the model's ROC at the reader's FPR), diff (model − reader sensitivity), ci_low, ci_high,
n_pos, n, n_skipped, source (where the readers' figures come from), split, status. See
:mod:`igcl.evaluate.radiologists`.

``retrieval.parquet``: method, pretrain_seed, task (``retrieval``), k, seed, pathology (query class or ``mean``), precision
(mean precision@k over the queries), ci_low, ci_high (bootstrap over queries), n_pos (queries of the class),
n (queries = candidate reports). Zero rows for a method without a report encoder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pyarrow as pa

from igcl.contracts.schema import write_table

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
    ("split", pa.string()),
])
RETRIEVAL_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("k", pa.int64()), ("seed", pa.int64()), ("pathology", pa.string()), ("precision", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()),
])

ZEROSHOT_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("metric", pa.string()), ("seed", pa.int64()), ("pathology", pa.string()), ("value", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()),
    ("n_skipped", pa.int64()), ("chance", pa.float64()), ("prompts", pa.string()), ("split", pa.string()),
    ("status", pa.string()),
])
THRESHOLDS_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("fraction", pa.float64()), ("seed", pa.int64()), ("pathology", pa.string()), ("rule", pa.string()),
    ("threshold", pa.float64()), ("metric", pa.string()), ("value", pa.float64()), ("ci_low", pa.float64()),
    ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()), ("n_skipped", pa.int64()),
    ("threshold_split", pa.string()), ("split", pa.string()), ("status", pa.string()),
])
RADIOLOGISTS_SCHEMA = pa.schema(_COMMON_HEAD + [
    ("fraction", pa.float64()), ("seed", pa.int64()), ("reader", pa.string()), ("pathology", pa.string()),
    ("reader_fpr", pa.float64()), ("reader_tpr", pa.float64()), ("model_tpr", pa.float64()), ("diff", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("n_pos", pa.int64()), ("n", pa.int64()),
    ("n_skipped", pa.int64()), ("source", pa.string()), ("split", pa.string()), ("status", pa.string()),
])

OUTPUT_FILES: dict[str, pa.Schema] = {
    "linear.parquet": FRACTION_METRICS_SCHEMA,
    "fewshot.parquet": FEWSHOT_METRICS_SCHEMA,
    "finetune.parquet": FRACTION_METRICS_SCHEMA,
    "retrieval.parquet": RETRIEVAL_SCHEMA,
    "scores.parquet": SCORES_SCHEMA,
    "zeroshot.parquet": ZEROSHOT_SCHEMA,
    "thresholds.parquet": THRESHOLDS_SCHEMA,
    "radiologists.parquet": RADIOLOGISTS_SCHEMA,
}


def write_rows(rows: Iterable[Mapping], path: str | os.PathLike[str], schema: pa.Schema) -> int:
    """Write dict ``rows`` as a Parquet table of ``schema`` atomically; returns the row count."""
    rows = list(rows)
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    table = pa.table({name: pa.array(values, type=schema.field(name).type) for name, values in columns.items()})
    write_table(table, path, schema)
    return len(rows)
