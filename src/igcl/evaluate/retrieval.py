"""Image→report retrieval on the MIMIC test split (held out from pretraining), CheXpert 5×200 style.

Query set (:func:`select_queries`): studies of the split with exactly one of the 5 competition pathologies
positive (label 1.0; the other four anything but 1.0), grouped by that pathology (the study's class); per class up
to ``per_class`` studies drawn at random (seeded) — the phantom data set has fewer, so all of those are used and
the counts are reported. Each study contributes its first image (lowest shard row) whose view is in ``views``;
studies without one are left out. Candidates are the same studies' reports (text for convirt, graphs for igcl:
the model's ``embed_reports(texts, graphs)`` gets both). Each query image ranks all candidates by cosine
similarity of the L2-normalised embeddings; precision@k is the share of the top k whose class equals the
query's. The ``mean`` row averages over all queries; CIs are percentile bootstraps over queries.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from igcl.evaluate.context import Forward, Intervals
from igcl.evaluate.features import Normalize, embed_in_batches, l2_normalise, prepare_batch
from igcl.evaluate.metrics import bootstrap_counts, percentile_ci
from igcl.evaluate.targets import ImageTable
from igcl.rng import Stream, stream_rng
from igcl.contracts.graphs import graphs_of
from igcl.contracts.report_files import report_texts_of
from igcl.contracts.node_features import NodeFeatureStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuerySet:
    """``index`` [Q] positions in the ImageTable (one image per study), ``classes`` [Q] in 0..P-1, ``study_ids``."""

    index: np.ndarray
    classes: np.ndarray
    study_ids: np.ndarray


def single_label_studies(table: ImageTable, views: tuple[str, ...]) -> QuerySet:
    """Every study with exactly one competition pathology positive, each with its first image of ``views``."""
    eligible = np.isin(table.views, np.array(views, dtype=object))
    order = np.lexsort((table.rows, table.study_ids))
    chosen_index, classes, studies = [], [], []
    seen: set[str] = set()
    for i in order:
        study = table.study_ids[i]
        if study in seen or not eligible[i]:
            continue
        seen.add(study)
        positive = np.flatnonzero(table.raw_labels[i] == 1.0)
        if positive.size == 1:
            chosen_index.append(i)
            classes.append(int(positive[0]))
            studies.append(study)
    return QuerySet(np.array(chosen_index, dtype=np.int64), np.array(classes, dtype=np.int64),
                    np.array(studies, dtype=object))


def select_queries(pool: QuerySet, per_class: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Positions [Q] into ``pool``: up to ``per_class`` per class, drawn without replacement, in pool order."""
    picked = []
    for c in range(n_classes):
        members = np.flatnonzero(pool.classes == c)
        picked.append(rng.choice(members, size=min(per_class, members.size), replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)


def precision_at_k(similarity: np.ndarray, query_classes: np.ndarray, candidate_classes: np.ndarray,
                   k: int) -> np.ndarray:
    """Per-query precision@k ``[Q]`` from ``similarity`` [Q, C] (ties broken by candidate order)."""
    k = min(k, similarity.shape[1])
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    return (candidate_classes[top] == query_classes[:, None]).mean(axis=1)


def read_reports(manifest_path: str | os.PathLike[str], study_ids: Sequence[str]) -> list[str]:
    """The report text of each query study, in order (:func:`igcl.contracts.report_files.report_texts_of`)."""
    texts = report_texts_of(manifest_path, study_ids, what="query study")
    return [texts[s] for s in study_ids]


def read_graphs(graphs_dir: str | os.PathLike[str], study_ids: Sequence[str]) -> list[dict]:
    """GRAPH_SCHEMA rows of the query studies, in order (:func:`igcl.contracts.graphs.graphs_of`)."""
    graphs = graphs_of(graphs_dir, study_ids, what="query studies")
    return [graphs[s] for s in study_ids]


@dataclass(frozen=True)
class RetrievalData:
    """The retrieval split's images (``table`` rows of the ``images`` [N, H, W] array, turned into model input by
    ``normalize``) and the one report side the method reads: ``manifest`` (report texts) or ``graphs_dir`` (graph
    shards, plus ``node_features``, the node_features stage's folder, for an encoder on text-model vectors)."""

    table: ImageTable
    images: np.ndarray
    normalize: Normalize
    manifest: str | os.PathLike[str] | None = None
    graphs_dir: str | os.PathLike[str] | None = None
    node_features: str | os.PathLike[str] | None = None


def run_retrieval(model, data: RetrievalData, *, method: str, pathologies: tuple[str, ...], views: tuple[str, ...],
                  per_class: int, ks: tuple[int, ...], seeds: tuple[int, ...], forward: Forward,
                  intervals: Intervals) -> tuple[list[dict], dict]:
    """Retrieval rows (RETRIEVAL_SCHEMA) for each seed's query set, and a summary (pool counts per class)."""
    table, images, normalize = data.table, data.images, data.normalize
    batch_size, device, image_size = forward.batch_size, forward.device, forward.image_size
    pool = single_label_studies(table, views)
    per_class_pool = {name: int((pool.classes == c).sum()) for c, name in enumerate(pathologies)}
    log.info("retrieval pool (single-pathology studies with a %s image): %s", "/".join(views), per_class_pool)
    if len(pool.index) == 0:
        raise ValueError(f"{table.source}: no study in the retrieval split has exactly one competition "
                         "pathology positive; retrieval needs at least one")
    rows_all = table.rows[pool.index]
    order = np.argsort(rows_all, kind="stable")  # read the images in shard order
    image_emb = embed_in_batches(
        model.embed_images, len(order), batch_size,
        lambda a, b: (prepare_batch(images[rows_all[order[a:b]]], normalize, image_size, device),),
        f"{method}: embed_images")[np.argsort(order, kind="stable")]
    studies = pool.study_ids.tolist()
    # only the report side the method reads (graphs for igcl, text for convirt), so its rule needs no other input
    texts = read_reports(data.manifest, studies) if data.manifest is not None else None
    graphs = read_graphs(data.graphs_dir, studies) if data.graphs_dir is not None else None
    if graphs is not None and data.node_features is not None:  # an encoder on text-model node vectors reads them
        store = NodeFeatureStore(data.node_features)
        graphs = [{**graph, "node_vectors": store.vectors(study)} for graph, study in zip(graphs, studies)]
    report_emb = embed_in_batches(
        model.embed_reports, len(studies), batch_size,
        lambda a, b: (None if texts is None else texts[a:b], None if graphs is None else graphs[a:b]),
        f"{method}: embed_reports")
    image_emb, report_emb = l2_normalise(image_emb), l2_normalise(report_emb)

    out = []
    for seed in seeds:
        picked = select_queries(pool, per_class, len(pathologies), stream_rng(seed, Stream.RETRIEVAL_QUERIES))
        classes = pool.classes[picked]
        similarity = image_emb[picked] @ report_emb[picked].T
        counts = bootstrap_counts(len(picked), intervals.n_bootstrap, stream_rng(seed, Stream.RETRIEVAL_BOOTSTRAP))
        for k in ks:
            hits = precision_at_k(similarity, classes, classes, int(k))
            groups = [(name, classes == c) for c, name in enumerate(pathologies)]
            groups.append(("mean", np.ones(len(classes), dtype=bool)))
            for name, mask in groups:
                if not mask.any():
                    continue
                w = counts[:, mask]
                with np.errstate(invalid="ignore", divide="ignore"):
                    boot = (w * hits[mask]).sum(axis=1) / w.sum(axis=1)
                low, high, _ = percentile_ci(boot, intervals.level)
                out.append({"method": method, "task": "retrieval", "k": int(k), "seed": int(seed),
                            "pathology": name, "precision": float(hits[mask].mean()), "ci_low": low,
                            "ci_high": high, "n_pos": int(mask.sum()), "n": int(len(picked))})
    return out, {"pool_per_class": per_class_pool, "per_class": per_class}
