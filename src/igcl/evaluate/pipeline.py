"""The evaluate stage: one checkpoint → linear probe, few-shot, (fine-tuning), retrieval tables in ``out_dir``.

Outputs (schemas in :mod:`igcl.evaluate.results`), each written atomically with a ``.meta.json`` sidecar:
``linear.parquet``, ``fewshot.parquet``, ``retrieval.parquet``, ``scores.parquet`` and, when
``finetune.enabled``, ``finetune.parquet``. ``out_dir/features/features-<key>.npz`` caches the frozen features.

Data: probes train on the CheXpert ``train`` split and test on ``valid``, images of ``views`` only, labels mapped
by :func:`igcl.evaluate.targets.apply_uncertain_policy`. Patients present in both splits (none in CheXpert) are
removed from the training pool, with a warning and a count in the sidecar, so train and test never share a
patient.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from igcl.config import to_dict
from igcl.data.images import ImageShard, normalize_images
from igcl.evaluate.config import EvaluateConfig
from igcl.evaluate.features import (cache_key, cached_features, checkpoint_hash, extract_features, resolve_device,
                                    shard_identity)
from igcl.evaluate.fewshot import run_few_shot
from igcl.evaluate.finetune import run_finetune
from igcl.evaluate.probe import ProbeData, run_linear_probe
from igcl.evaluate.results import (FEWSHOT_METRICS_SCHEMA, FRACTION_METRICS_SCHEMA, RETRIEVAL_SCHEMA, SCORES_SCHEMA,
                                   write_rows)
from igcl.evaluate.retrieval import run_retrieval
from igcl.evaluate.sampling import exclude_patients
from igcl.evaluate.targets import apply_uncertain_policy, read_image_table
from igcl.io import remove_litter, write_sidecar
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.methods import GRAPHS, TEXT, get_method
from igcl.models.checkpoint import load_pretrained

log = logging.getLogger(__name__)

TRAIN_SPLIT, TEST_SPLIT = "train", "valid"
TABLE_FILES = ("linear.parquet", "fewshot.parquet", "retrieval.parquet", "scores.parquet", "finetune.parquet")


@dataclass(frozen=True)
class EvaluateInputs:
    """Paths the stage reads. The retrieval inputs are needed only by a method with a report encoder, and then
    only its own report side: ``graphs_dir`` for a graph method (igcl), ``manifest`` for a text one (convirt)."""

    checkpoint_dir: Path
    eval_images: Path
    eval_index: Path
    retrieval_images: Path | None = None
    retrieval_index: Path | None = None
    manifest: Path | None = None
    graphs_dir: Path | None = None
    node_features: Path | None = None  # the node_features stage's folder (a graph encoder on text-model vectors)

    def check_retrieval(self, method: str, node_vectors: bool = False) -> None:
        """Raise ValueError naming the missing option when ``method``'s retrieval lacks an input."""
        side = get_method(method).report_side
        needed = {"--retrieval-images": self.retrieval_images, "--retrieval-index": self.retrieval_index}
        if side == GRAPHS:
            needed["--graphs"] = self.graphs_dir
            if node_vectors:
                needed["--node-features"] = self.node_features
        else:
            needed["--manifest"] = self.manifest
        missing = [option for option, value in needed.items() if value is None]
        if missing:
            raise ValueError(f"retrieval of method {method!r} needs {', '.join(missing)} (or set "
                             "evaluate.retrieval.enabled: false)")


def probe_data(cfg: EvaluateConfig, inputs: EvaluateInputs, model, images: np.ndarray, out_dir: Path,
               device) -> tuple[ProbeData, dict]:
    """Train/test tables, targets and (cached) frozen features of the CheXpert shard."""
    table = read_image_table(inputs.eval_index, COMPETITION_PATHOLOGIES)
    train = table.select(TRAIN_SPLIT, cfg.views)
    test = table.select(TEST_SPLIT, cfg.views)
    keep = exclude_patients(train.patient_ids, test.patient_ids)
    overlap = int((~keep).sum())
    if overlap:
        log.warning("%s: %d train images belong to patients of the %s split; left out of the training pool",
                    inputs.eval_index, overlap, TEST_SPLIT)
        train = train.subset(keep)
    if len(train) == 0:
        raise ValueError(f"{inputs.eval_index}: no training images left after removing test-split patients")
    if images.shape[0] <= max(int(train.rows.max()), int(test.rows.max())):
        raise ValueError(f"{inputs.eval_index}: rows beyond the {images.shape[0]} images of {inputs.eval_images}")
    rows = np.concatenate([train.rows, test.rows])
    key = cache_key(checkpoint_hash(inputs.checkpoint_dir), shard_identity(inputs.eval_images, inputs.eval_index),
                    rows.tobytes(), str(model.image_size))
    features, cached = cached_features(
        out_dir / "features", key, rows,
        lambda: extract_features(model.image_encoder, images, rows, normalize=normalize_images,
                                 batch_size=cfg.batch_size, device=device, image_size=model.image_size,
                                 feature_dim=model.feature_dim, where=str(inputs.checkpoint_dir)))
    n_train = len(train)
    data = ProbeData(
        train_x=features[:n_train], train_targets=apply_uncertain_policy(train.raw_labels, cfg.uncertain),
        train_patients=train.patient_ids, train_rows=train.rows, test_x=features[n_train:],
        test_targets=apply_uncertain_policy(test.raw_labels, cfg.uncertain), test_rows=test.rows,
        test_studies=test.study_ids, pathologies=COMPETITION_PATHOLOGIES)
    info = {"train_images": n_train, "test_images": len(test), "train_patients": int(len(set(train.patient_ids))),
            "overlap_images_removed": overlap, "features_cached": cached, "feature_key": key}
    return data, info


def checkpoint_seed(config: dict, checkpoint_dir: Path) -> int:
    """The pretraining seed a checkpoint was trained (or, for a baseline, initialised) with."""
    try:
        return int(config["pretrain"]["seed"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{checkpoint_dir / 'config.json'}: no pretrain.seed ({err})") from err


def run_evaluation(cfg: EvaluateConfig, *, method: str, inputs: EvaluateInputs,
                   out_dir: str | os.PathLike[str], label: str | None = None) -> dict:
    """Evaluate ``method``'s checkpoint; write the tables into ``out_dir``; return a small summary dict.

    ``label``: the name the tables give this run (a config variant such as ``igcl_rgcn_mean``); default ``method``.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    for name in TABLE_FILES:  # Snakemake deleted a failed run's tables but not their sidecars
        remove_litter(out / name)
    device = resolve_device(cfg.device)
    model = load_pretrained(inputs.checkpoint_dir, map_location=device)
    if model.method != method:
        raise ValueError(f"{inputs.checkpoint_dir}: checkpoint of method {model.method!r}, evaluated as {method!r}")
    method = label or method  # from here on, the run's name in every table
    shard = ImageShard(inputs.eval_images, inputs.eval_index)
    data, info = probe_data(cfg, inputs, model, shard.array, out, device)
    log.info("%s: %d train / %d test images, %d features each", method, info["train_images"], info["test_images"],
             data.train_x.shape[1])
    common = {"method": method, "seeds": cfg.seeds, "n_bootstrap": cfg.n_bootstrap, "level": cfg.ci_level}
    linear, linear_scores = run_linear_probe(data, fractions=cfg.linear.fractions, C=cfg.linear.C,
                                             max_iter=cfg.linear.max_iter, **common)
    fewshot, fewshot_scores = run_few_shot(data, ks=cfg.fewshot.k,
                                           negatives_per_positive=cfg.fewshot.negatives_per_positive,
                                           C=cfg.linear.C, max_iter=cfg.linear.max_iter, **common)
    finetune, finetune_scores = [], []
    if cfg.finetune.enabled:
        ft = cfg.finetune
        finetune, finetune_scores = run_finetune(
            data, model.image_encoder, model.feature_dim, shard.array, normalize_images, method=method,
            fractions=ft.fractions, seeds=ft.seeds, epochs=ft.epochs, batch_size=ft.batch_size, lr=ft.lr,
            head_lr=ft.head_lr, weight_decay=ft.weight_decay, device=device, image_size=model.image_size,
            n_bootstrap=cfg.n_bootstrap, level=cfg.ci_level)

    retrieval: list[dict] = []
    if model.has_report_encoder and cfg.retrieval.enabled:
        node_vectors = model.model.spec.graph is not None and model.model.spec.graph.node_features == "text_model"
        inputs.check_retrieval(method, node_vectors)
        side = get_method(method).report_side
        rshard = ImageShard(inputs.retrieval_images, inputs.retrieval_index)
        rtable = read_image_table(inputs.retrieval_index, COMPETITION_PATHOLOGIES).select(cfg.retrieval.split,
                                                                                          cfg.views)
        retrieval, rinfo = run_retrieval(
            model, rtable, rshard.array, normalize_images,
            inputs.manifest if side == TEXT else None, inputs.graphs_dir if side == GRAPHS else None,
            method=method,
            pathologies=COMPETITION_PATHOLOGIES, views=cfg.views, per_class=cfg.retrieval.per_class,
            ks=cfg.retrieval.ks, seeds=cfg.seeds, batch_size=cfg.batch_size, device=device,
            image_size=model.image_size, n_bootstrap=cfg.n_bootstrap, level=cfg.ci_level,
            node_features=inputs.node_features if node_vectors else None)
        info["retrieval"] = rinfo
    else:
        info["retrieval"] = ("skipped: method has no report encoder" if not model.has_report_encoder
                             else "skipped: evaluate.retrieval.enabled is false")
        log.info("%s: retrieval %s", method, info["retrieval"])

    seconds = time.perf_counter() - started
    config = to_dict(cfg)
    pretrain_seed = checkpoint_seed(model.config, inputs.checkpoint_dir)
    extra = {"method": method, "pretrain_seed": pretrain_seed,
             "checkpoint": str(inputs.checkpoint_dir), "data": info}
    tables = [
        ("linear.parquet", linear, FRACTION_METRICS_SCHEMA),
        ("fewshot.parquet", fewshot, FEWSHOT_METRICS_SCHEMA),
        ("retrieval.parquet", retrieval, RETRIEVAL_SCHEMA),
        ("scores.parquet", linear_scores + fewshot_scores + finetune_scores, SCORES_SCHEMA),
    ]
    if cfg.finetune.enabled:
        tables.append(("finetune.parquet", finetune, FRACTION_METRICS_SCHEMA))
    elif (out / "finetune.parquet").exists():
        # a table from an earlier run with fine-tuning on would be mistaken for this run's
        log.info("removing stale %s (finetune is disabled)", out / "finetune.parquet")
        (out / "finetune.parquet").unlink()
        (out / "finetune.parquet.meta.json").unlink(missing_ok=True)
    for _, rows, _ in tables:
        for row in rows:
            row["pretrain_seed"] = pretrain_seed
    for name, rows, schema in tables:
        n = write_rows(rows, out / name, schema)
        write_sidecar(out / name, config=config, rows={name: n}, seconds=seconds, extra=extra)
    summary = {row["fraction"]: row["auroc"] for row in linear if row["pathology"] == "mean"}
    log.info("%s: mean AUROC by fraction (last seed) %s; %.1f s", method,
             {f: round(a, 3) for f, a in summary.items()}, seconds)
    return {"seconds": seconds, **info}
