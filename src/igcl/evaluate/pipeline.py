"""The evaluate stage: one checkpoint → linear probe, few-shot, (fine-tuning), zero-shot, thresholded metrics,
radiologist comparisons and retrieval tables in ``out_dir``.

Outputs (schemas in :mod:`igcl.evaluate.results`), each written atomically with a ``.meta.json`` sidecar:
``linear.parquet``, ``fewshot.parquet``, ``retrieval.parquet``, ``scores.parquet``, ``zeroshot.parquet``,
``thresholds.parquet``, ``radiologists.parquet`` and, when ``finetune.enabled``, ``finetune.parquet``.
``out_dir/features/features-<key>.npz`` caches the frozen features.

Data: probes train on the CheXpert ``train`` split. They test on ``test`` when the data have a test split (the
released CheXpert test set, 500 studies with 5-radiologist consensus labels; the phantom writes one too), and
``valid`` then chooses the thresholds of the thresholded metrics; without a test split they test on ``valid`` and
no thresholded metric is computed (a threshold chosen on the images it is scored on would flatter it). Images of
``views`` only, labels mapped by :func:`igcl.evaluate.targets.apply_uncertain_policy`. Training images of patients
present in an evaluation split (none in CheXpert) are removed from the training pool, with a warning and a count
in the sidecar, so train and test never share a patient.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from igcl.config import to_dict
from igcl.data.imageshards.reader import ImageShard, normalize_images
from igcl.evaluate.config import EvaluateConfig
from igcl.evaluate.features import (cache_key, cached_features, checkpoint_hash, extract_features, resolve_device,
                                    shard_identity)
from igcl.evaluate.fewshot import run_few_shot
from igcl.evaluate.context import Forward, Intervals
from igcl.evaluate.finetune import FinetuneEncoder, run_finetune
from igcl.evaluate.metrics import score_pathologies
from igcl.evaluate.prompt_graphs import read_prompt_graphs
from igcl.evaluate.probe import ProbeData, ScoredCell, linear_probe_cells, run_linear_probe, score_records
from igcl.evaluate.radiologists import Readers, compare_with_readers, read_readers
from igcl.evaluate.results import (FEWSHOT_METRICS_SCHEMA, FRACTION_METRICS_SCHEMA, RADIOLOGISTS_SCHEMA,
                                   RETRIEVAL_SCHEMA, SCORES_SCHEMA, THRESHOLDS_SCHEMA, ZEROSHOT_SCHEMA, write_rows)
from igcl.evaluate.retrieval import RetrievalData, run_retrieval
from igcl.evaluate.sampling import exclude_patients
from igcl.evaluate.targets import ImageTable, apply_uncertain_policy, read_image_table
from igcl.evaluate.thresholds import thresholded_rows
from igcl.evaluate.zeroshot import embed_image_rows, prompt_accuracy, prompt_vectors, zero_shot_scores
from igcl.io import Sidecar, read_sidecar, remove_litter, write_sidecar
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.methods import GRAPHS, TEXT, get_method
from igcl.rng import Stream, stream_rng
from igcl.models.checkpoint import load_pretrained

log = logging.getLogger(__name__)

TRAIN_SPLIT, VALID_SPLIT, TEST_SPLIT = "train", "valid", "test"
TABLE_FILES = ("linear.parquet", "fewshot.parquet", "retrieval.parquet", "scores.parquet", "zeroshot.parquet",
               "thresholds.parquet", "radiologists.parquet", "finetune.parquet")


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
    radiologists: Path | None = None   # a reader CSV (igcl.evaluate.radiologists); None: no reader comparison
    prompt_graphs: Path | None = None  # the prompts stage's graphs (zero-shot of a graph method)

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


def evaluation_splits(table: ImageTable) -> tuple[str, str | None]:
    """(test split, threshold split): ``test`` and ``valid`` when the index has test images, else ``valid``, None."""
    return (TEST_SPLIT, VALID_SPLIT) if (table.splits == TEST_SPLIT).any() else (VALID_SPLIT, None)


def probe_data(cfg: EvaluateConfig, inputs: EvaluateInputs, model, images: np.ndarray, out_dir: Path,
               device) -> tuple[ProbeData, dict]:
    """Train/test (and threshold-split) tables, targets and (cached) frozen features of the CheXpert shard."""
    table = read_image_table(inputs.eval_index, COMPETITION_PATHOLOGIES)
    test_split, threshold_split = evaluation_splits(table)
    train = table.select(TRAIN_SPLIT, cfg.views)
    test = table.select(test_split, cfg.views)
    valid = table.select(threshold_split, cfg.views) if threshold_split else None
    held_out = test.patient_ids if valid is None else np.concatenate([test.patient_ids, valid.patient_ids])
    keep = exclude_patients(train.patient_ids, held_out)
    overlap = int((~keep).sum())
    if overlap:
        log.warning("%s: %d train images belong to patients of the evaluation split(s); left out of the training "
                    "pool", inputs.eval_index, overlap)
        train = train.subset(keep)
    if len(train) == 0:
        raise ValueError(f"{inputs.eval_index}: no training images left after removing test-split patients")
    parts = [train, test] + ([valid] if valid is not None else [])
    if images.shape[0] <= max(int(part.rows.max()) for part in parts):
        raise ValueError(f"{inputs.eval_index}: rows beyond the {images.shape[0]} images of {inputs.eval_images}")
    rows = np.concatenate([part.rows for part in parts])
    key = cache_key(checkpoint_hash(inputs.checkpoint_dir), shard_identity(inputs.eval_images, inputs.eval_index),
                    rows.tobytes(), str(model.image_size))
    features, cached = cached_features(
        out_dir / "features", key, rows,
        lambda: extract_features(model.image_encoder, images, rows, normalize=normalize_images,
                                 batch_size=cfg.batch_size, device=device, image_size=model.image_size,
                                 feature_dim=model.feature_dim, where=str(inputs.checkpoint_dir)))
    n_train, n_test = len(train), len(test)
    data = ProbeData(
        train_x=features[:n_train], train_targets=apply_uncertain_policy(train.raw_labels, cfg.uncertain),
        train_patients=train.patient_ids, train_rows=train.rows, test_x=features[n_train:n_train + n_test],
        test_targets=apply_uncertain_policy(test.raw_labels, cfg.uncertain), test_rows=test.rows,
        test_studies=test.study_ids, pathologies=COMPETITION_PATHOLOGIES, test_split=test_split,
        valid_x=None if valid is None else features[n_train + n_test:],
        valid_targets=None if valid is None else apply_uncertain_policy(valid.raw_labels, cfg.uncertain),
        valid_rows=None if valid is None else valid.rows)
    info = {"train_images": n_train, "test_images": n_test, "test_split": test_split,
            "threshold_split": threshold_split, "threshold_images": 0 if valid is None else len(valid),
            "train_patients": int(len(set(train.patient_ids))), "overlap_images_removed": overlap,
            "features_cached": cached, "feature_key": key}
    return data, info


def threshold_records(method: str, cell: ScoredCell, data: ProbeData, rule: str, n_bootstrap: int,
                      level: float) -> list[dict]:
    """THRESHOLDS_SCHEMA rows of one scored cell (none without a threshold split)."""
    if cell.valid_scores is None:
        return []
    rows = thresholded_rows(data.valid_targets, cell.valid_scores, data.test_targets, cell.test_scores,
                            data.pathologies, rule=rule, n_bootstrap=n_bootstrap, level=level,
                            rng=stream_rng(cell.seed, Stream.THRESHOLDS_BOOTSTRAP, cell.index,
                                           TASK_IDS[cell.task]))
    return [{"method": method, "task": cell.task, "fraction": cell.setting.get("fraction"), "seed": cell.seed,
             "rule": rule, "threshold_split": VALID_SPLIT, "split": data.test_split, **row} for row in rows]


def reader_records(method: str, cell: ScoredCell, data: ProbeData, readers: Readers | None, n_bootstrap: int,
                   level: float) -> list[dict]:
    """RADIOLOGISTS_SCHEMA rows of one scored cell (none without readers)."""
    if readers is None:
        return []
    rows = compare_with_readers(readers, data.test_targets, cell.test_scores, data.pathologies,
                                n_bootstrap=n_bootstrap, level=level,
                                rng=stream_rng(cell.seed, Stream.READERS_BOOTSTRAP, cell.index,
                                               TASK_IDS[cell.task]))
    return [{"method": method, "task": cell.task, "fraction": cell.setting.get("fraction"), "seed": cell.seed,
             "source": readers.source, "split": data.test_split, **row} for row in rows]


TASK_IDS = {"linear": 1, "zeroshot": 2}  # keeps the threshold and reader streams of the two tasks apart


def zero_shot(cfg: EvaluateConfig, model, images: np.ndarray, data: ProbeData, device, method: str,
              prompt_graphs_path: Path | None) -> tuple[list[dict], list[dict], ScoredCell | None]:
    """Zero-shot tables of a method with a report encoder: (ZEROSHOT_SCHEMA rows, score rows, its scored cell)."""
    zcfg = cfg.zeroshot
    if not model.has_report_encoder or not zcfg.enabled:
        log.info("%s: zero-shot skipped (%s)", method, "no report encoder" if not model.has_report_encoder
                 else "evaluate.zeroshot.enabled is false")
        return [], [], None
    spec_graph = model.model.spec.graph
    if spec_graph is not None and spec_graph.node_features == "text_model":
        raise ValueError(f"{method}: zero-shot graph prompts need text-model vectors for the prompt's nodes, which "
                         "the node_features stage computes only for the reports; set evaluate.zeroshot.enabled: "
                         "false for this method")
    seed = cfg.seeds[0]  # zero-shot has no sampling: one cell, at the first sampling seed
    prompt_graphs = None
    if get_method(model.method).report_side == GRAPHS:
        if prompt_graphs_path is None:
            raise ValueError(f"zero-shot of graph method {method!r} needs --prompt-graphs (the prompts stage's "
                             "output), or set evaluate.zeroshot.enabled: false")
        prompt_graphs = read_prompt_graphs(prompt_graphs_path, zcfg, data.pathologies)
    positive, negative, described = prompt_vectors(model, data.pathologies, zcfg.templates, zcfg.prompts,
                                                   zcfg.graphs, prompt_graphs)
    rows = data.test_rows if data.valid_rows is None else np.concatenate([data.test_rows, data.valid_rows])
    vectors = embed_image_rows(model, images, rows, normalize_images, batch_size=cfg.batch_size, device=device)
    m = data.test_x.shape[0]
    scores = zero_shot_scores(vectors, positive, negative)
    cell = ScoredCell("zeroshot", {}, seed, 0, np.zeros((0, len(data.pathologies))), scores[:m],
                      None if data.valid_rows is None else scores[m:])
    prompts = " | ".join(described)
    common = {"method": method, "task": "zeroshot", "seed": seed, "prompts": prompts, "split": data.test_split,
              "chance": None}
    out = [{**common, "metric": "auroc", **{("value" if k == "auroc" else k): v for k, v in row.items()}}
           for row in score_pathologies(data.test_targets, cell.test_scores, data.pathologies,
                                        n_bootstrap=cfg.n_bootstrap, level=cfg.ci_level,
                                        rng=stream_rng(seed, Stream.ZEROSHOT_BOOTSTRAP))]
    accuracy = prompt_accuracy(vectors[:m], positive, data.test_targets, per_class=zcfg.per_class,
                               n_bootstrap=cfg.n_bootstrap, level=cfg.ci_level,
                               rng=stream_rng(seed, Stream.PROMPT_ACCURACY))
    out.append({**common, "metric": "accuracy", "pathology": "all", **accuracy})
    log.info("%s: zero-shot mean AUROC %.3f, image→prompt accuracy %.3f on %d single-label images", method,
             out[-2]["value"], accuracy["value"], accuracy["n"])
    return out, score_records(method, "zeroshot", {}, seed, data, cell.test_scores), cell


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
    readers = read_readers(inputs.radiologists) if inputs.radiologists is not None else None
    for name in TABLE_FILES:  # Snakemake deleted a failed run's tables but not their sidecars
        remove_litter(out / name)
    device = resolve_device(cfg.device)
    model = load_pretrained(inputs.checkpoint_dir, map_location=device)
    if model.method != method:
        raise ValueError(f"{inputs.checkpoint_dir}: checkpoint of method {model.method!r}, evaluated as {method!r}")
    method = label or method  # from here on, the run's name in every table
    shard = ImageShard(inputs.eval_images, inputs.eval_index)
    data, info = probe_data(cfg, inputs, model, shard.array, out, device)
    log.info("%s: %d train / %d test images (CheXpert %s; thresholds chosen on %s), %d features each", method,
             info["train_images"], info["test_images"], info["test_split"],
             info["threshold_split"] or "no split: no thresholded metric", data.train_x.shape[1])
    common = {"method": method, "seeds": cfg.seeds, "n_bootstrap": cfg.n_bootstrap, "level": cfg.ci_level}
    cells = linear_probe_cells(data, fractions=cfg.linear.fractions, seeds=cfg.seeds, C=cfg.linear.C,
                               max_iter=cfg.linear.max_iter)
    linear, linear_scores = run_linear_probe(data, fractions=cfg.linear.fractions, C=cfg.linear.C,
                                             max_iter=cfg.linear.max_iter, cells=cells, **common)
    zeroshot, zeroshot_scores, zeroshot_cell = zero_shot(cfg, model, shard.array, data, device, method,
                                                          inputs.prompt_graphs)
    thresholds, radiologists = [], []
    for cell in cells + ([zeroshot_cell] if zeroshot_cell is not None else []):
        if cfg.thresholds.enabled:
            thresholds += threshold_records(method, cell, data, cfg.thresholds.rule, cfg.n_bootstrap, cfg.ci_level)
        radiologists += reader_records(method, cell, data, readers, cfg.n_bootstrap, cfg.ci_level)
    fewshot, fewshot_scores = run_few_shot(data, ks=cfg.fewshot.k,
                                           negatives_per_positive=cfg.fewshot.negatives_per_positive,
                                           C=cfg.linear.C, max_iter=cfg.linear.max_iter, **common)
    forward = Forward(cfg.batch_size, device, model.image_size)
    intervals = Intervals(cfg.n_bootstrap, cfg.ci_level)
    finetune, finetune_scores = [], []
    if cfg.finetune.enabled:
        finetune, finetune_scores = run_finetune(
            data, FinetuneEncoder(model.image_encoder, model.feature_dim, shard.array, normalize_images),
            cfg.finetune, method=method, forward=Forward(cfg.finetune.batch_size, device, model.image_size),
            intervals=intervals)

    retrieval: list[dict] = []
    if model.has_report_encoder and cfg.retrieval.enabled:
        node_vectors = model.model.spec.graph is not None and model.model.spec.graph.node_features == "text_model"
        inputs.check_retrieval(method, node_vectors)
        side = get_method(method).report_side
        rshard = ImageShard(inputs.retrieval_images, inputs.retrieval_index)
        rtable = read_image_table(inputs.retrieval_index, COMPETITION_PATHOLOGIES).select(cfg.retrieval.split,
                                                                                          cfg.views)
        rdata = RetrievalData(rtable, rshard.array, normalize_images,
                              manifest=inputs.manifest if side == TEXT else None,
                              graphs_dir=inputs.graphs_dir if side == GRAPHS else None,
                              node_features=inputs.node_features if node_vectors else None)
        retrieval, rinfo = run_retrieval(
            model, rdata, method=method, pathologies=COMPETITION_PATHOLOGIES, views=cfg.views,
            per_class=cfg.retrieval.per_class, ks=cfg.retrieval.ks, seeds=cfg.seeds, forward=forward,
            intervals=intervals)
        info["retrieval"] = rinfo
    else:
        info["retrieval"] = ("skipped: method has no report encoder" if not model.has_report_encoder
                             else "skipped: evaluate.retrieval.enabled is false")
        log.info("%s: retrieval %s", method, info["retrieval"])

    seconds = time.perf_counter() - started
    config = to_dict(cfg)
    pretrain_seed = checkpoint_seed(model.config, inputs.checkpoint_dir)
    info["radiologists"] = None if readers is None else {"path": readers.path, "source": readers.source}
    extra = {"method": method, "pretrain_seed": pretrain_seed,
             "checkpoint": str(inputs.checkpoint_dir), "data": info}
    tables = [
        ("linear.parquet", linear, FRACTION_METRICS_SCHEMA),
        ("fewshot.parquet", fewshot, FEWSHOT_METRICS_SCHEMA),
        ("retrieval.parquet", retrieval, RETRIEVAL_SCHEMA),
        ("scores.parquet", linear_scores + fewshot_scores + finetune_scores + zeroshot_scores, SCORES_SCHEMA),
        ("zeroshot.parquet", zeroshot, ZEROSHOT_SCHEMA),
        ("thresholds.parquet", thresholds, THRESHOLDS_SCHEMA),
        ("radiologists.parquet", radiologists, RADIOLOGISTS_SCHEMA),
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


@dataclass(frozen=True)
class EvaluateOutputs:
    tables: Path  # results/eval/{method}/seed{N}: the TABLE_FILES and their sidecars (features/ caches features)


def run_evaluate(config: EvaluateConfig, inputs: EvaluateInputs, outputs: EvaluateOutputs, *, method: str,
                 label: str | None = None) -> Sidecar:
    """The evaluate stage (:func:`run_evaluation`); returns the linear probe table's sidecar."""
    run_evaluation(config, method=method, inputs=inputs, out_dir=outputs.tables, label=label)
    return read_sidecar(Path(outputs.tables) / "linear.parquet")
