"""The node_features stage: one frozen, contextual text-model vector per graph node, computed once and stored beside
the graph shards (:mod:`igcl.contracts.node_features` gives the folder layout).

The vector of an entity (the IGCL authors' recipe, rajpurkarlab/IGCL ``collect_bert_embedding_tu.py``): run the
model over the **whole report** (every section, headers included, as context), take each sub-token's **sum of the
last** ``layers`` **hidden states** (4), and **average over the entity's sub-tokens**. (The authors then append a
one-hot entity label; igcl's graph encoder does that itself, so the store holds the text vectors alone.)

Entity -> sub-tokens: a node's ``start``/``end`` are character offsets into the report text the parse stage read
(the whole report, not a section; :mod:`igcl.reports.parser`, :mod:`igcl.reports.radgraph_json`), checked by
``text[start:end] == node.text``. The fast tokenizer's offset mapping gives each sub-token's character span; an
entity's sub-tokens are those whose span overlaps ``[start, end)``. An entity with none (only characters the
tokenizer drops, such as control characters) gets a zero vector, counted in the sidecar.

**Windows** (reports longer than the model's input). The report is tokenized once, without special tokens. With
``S = max_length - specials`` text tokens per window (``specials``: 2 for BERT's ``[CLS] ... [SEP]``), a report of
``T <= S`` tokens is one window: exactly the unwindowed computation. A longer one is cut into windows of ``S``
tokens starting every ``S - overlap`` tokens (``overlap`` null: ``min(128, S // 2)``), the last one aligned to end
at ``T``; each window is run as its own input (``[CLS] window [SEP]``, positions from 0). Each token's vector is
taken from the window in which it has the most context on its tighter side (``min(tokens before it, tokens after it)`` within the window; ties go to the
earlier window), the "max context" rule of BERT's SQuAD windows: every token sees at least ``overlap // 2``
tokens on each side, or up to the report's edge.

Outputs are a pure function of the graphs, the report texts, the model folder and the settings; windows are run in
a fixed order in batches of ``batch_size`` (an execution key: it may change float rounding, not the recipe).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from tqdm import tqdm

from igcl.config import to_dict
from igcl.devices import resolve_device
from igcl.io import Sidecar, atomic_dir, disk_full_is_an_error, read_sidecar, remove_litter, write_sidecar
from igcl.models.hf_folder import folder_fingerprint, model_name
from igcl.models.hf_text import load_text_model, max_positions, summed_hidden_states
from igcl.reports.node_features_config import NodeFeaturesConfig
from igcl.contracts.graphs import graph_shard_paths
from igcl.contracts.node_features import (FEATURES_FILE, INDEX_FILE, INFO_FILE, NODE_FEATURES_INDEX_SCHEMA,
                                       STORE_FORMAT)
from igcl.contracts.schema import GRAPH_SCHEMA, read_table, write_table

log = logging.getLogger(__name__)

MODEL_KEY = "pretrain.graph.text_model_path"
DEFAULT_OVERLAP = 128  # tokens shared by neighbouring windows (at most half a window)
REPORTS_PER_CHUNK = 64  # reports tokenized and windowed together (their windows fill the forward batches)


def plan_windows(num_tokens: int, span: int, overlap: int) -> list[tuple[int, int]]:
    """Token ranges ``[start, end)`` of the windows over ``num_tokens`` tokens (see the module docstring)."""
    if span < 1:
        raise ValueError(f"window span must be >= 1 token, got {span}")
    if num_tokens <= span:
        return [(0, num_tokens)]
    stride = span - overlap
    if stride < 1:
        raise ValueError(f"overlap ({overlap}) must be below the window span ({span})")
    starts = list(range(0, num_tokens - span, stride)) + [num_tokens - span]
    return [(s, s + span) for s in sorted(set(starts))]


def token_owners(num_tokens: int, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """``[T]`` int: the window each token's vector comes from (max context on the tighter side, ties earlier)."""
    positions = np.arange(num_tokens)
    best = np.full(num_tokens, -1, dtype=np.int64)
    owner = np.zeros(num_tokens, dtype=np.int64)
    for w, (start, end) in enumerate(windows):
        inside = (positions >= start) & (positions < end)
        context = np.minimum(positions - start, end - 1 - positions)
        better = inside & (context > best)
        owner[better] = w
        best[better] = context[better]
    return owner


def entity_token_indices(offsets: np.ndarray, start: int, end: int) -> np.ndarray:
    """Indices of the sub-tokens whose character span ``offsets[i] = (a, b)`` overlaps ``[start, end)``."""
    if len(offsets) == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = offsets[:, 0], offsets[:, 1]
    return np.nonzero((a < end) & (b > start) & (b > a))[0]


@dataclass
class Counts:
    reports: int = 0
    nodes: int = 0
    windows: int = 0
    long_reports: int = 0
    nodes_without_tokens: int = 0


class EntityEmbedder:
    """Contextual entity vectors of a local model (see the module docstring): :meth:`embed` takes reports with
    their entity spans and gives ``[n_i, D]`` float32 per report."""

    def __init__(self, tokenizer: Any, model: torch.nn.Module, *, layers: int, max_length: int | None,
                 overlap: int | None, batch_size: int, device: torch.device | str = "cpu"):
        config = model.config
        num_layers = getattr(config, "num_hidden_layers", None)
        if num_layers is not None and layers > num_layers:
            raise ValueError(f"node_features.layers ({layers}) exceeds the model's {num_layers} transformer layers")
        limit = max_positions(config)
        if max_length is None:
            max_length = min(v for v in (limit, getattr(tokenizer, "model_max_length", None), 512) if v)
        elif limit is not None and max_length > limit:
            raise ValueError(f"node_features.max_length ({max_length}) exceeds the model's "
                             f"max_position_embeddings ({limit})")
        # the special tokens the model's inputs carry around a text ([CLS] ... [SEP] for BERT), read off the
        # tokenizer's own post-processing of a probe word
        plain = list(tokenizer("a", add_special_tokens=False)["input_ids"])
        full = list(tokenizer("a")["input_ids"])
        self.prefix = next((i for i in range(len(full) - len(plain) + 1) if full[i:i + len(plain)] == plain), 0)
        self.prefix_ids, self.suffix_ids = full[:self.prefix], full[self.prefix + len(plain):]
        self.specials = len(self.prefix_ids) + len(self.suffix_ids)
        self.span = max_length - self.specials
        if overlap is None:
            overlap = min(DEFAULT_OVERLAP, self.span // 2)
        if self.span <= overlap:
            raise ValueError(f"node_features.overlap ({overlap}) must be below the {self.span} text tokens of a "
                             f"window (max_length {max_length} less {self.specials} special tokens)")
        self.tokenizer, self.model = tokenizer, model.eval().to(device)
        self.layers, self.max_length, self.overlap, self.batch_size = layers, max_length, overlap, batch_size
        self.device = torch.device(device)
        self.dim = int(config.hidden_size)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.counts = Counts()

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text: ``offsets`` [T, 2] int and ``vectors`` [T, D] float32 of its sub-tokens (windowed)."""
        enc = self.tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                             verbose=False)
        jobs: list[tuple[int, int, int, list[int]]] = []  # (text, window start, window end, input ids)
        plans = []
        for t, ids in enumerate(enc["input_ids"]):
            windows = plan_windows(len(ids), self.span, self.overlap)
            plans.append((windows, token_owners(len(ids), windows)))
            self.counts.windows += len(windows)
            self.counts.long_reports += len(windows) > 1
            for start, end in windows:
                jobs.append((t, start, end, [*self.prefix_ids, *ids[start:end], *self.suffix_ids]))
        outputs = [np.zeros((len(ids), self.dim), dtype=np.float32) for ids in enc["input_ids"]]
        window_of = {}
        for k in range(0, len(jobs), self.batch_size):
            batch = jobs[k:k + self.batch_size]
            length = max(len(job[3]) for job in batch)
            ids = torch.full((len(batch), length), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), length), dtype=torch.long)
            for i, job in enumerate(batch):
                ids[i, :len(job[3])] = torch.tensor(job[3], dtype=torch.long)
                mask[i, :len(job[3])] = 1
            with torch.inference_mode():
                states = summed_hidden_states(self.model, ids.to(self.device), mask.to(self.device), self.layers)
            states = states.cpu().numpy()
            for i, (t, start, end, _) in enumerate(batch):
                window_of.setdefault(t, []).append((start, end, states[i, self.prefix:self.prefix + end - start]))
        for t, (windows, owners) in enumerate(plans):
            for w, (start, end, vectors) in enumerate(window_of.get(t, [])):
                mine = np.nonzero(owners[start:end] == w)[0]
                outputs[t][start + mine] = vectors[mine]
        return [(np.asarray(enc["offset_mapping"][t], dtype=np.int64).reshape(-1, 2), outputs[t])
                for t in range(len(texts))]

    def embed(self, reports: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[np.ndarray]:
        """``(text, [(start, end), ...])`` per report -> ``[n_i, D]`` float32 entity vectors, in span order."""
        out = []
        for (text, spans), (offsets, vectors) in zip(reports, self.token_vectors([r[0] for r in reports])):
            rows = np.zeros((len(spans), self.dim), dtype=np.float32)
            for i, (start, end) in enumerate(spans):
                tokens = entity_token_indices(offsets, start, end)
                if len(tokens):
                    rows[i] = vectors[tokens].mean(axis=0)
                else:
                    self.counts.nodes_without_tokens += 1
            self.counts.reports += 1
            self.counts.nodes += len(spans)
            out.append(rows)
        return out


def read_report_texts(path: str | os.PathLike[str]) -> dict[str, str]:
    """study_id -> report text from the parse stage's input: anything :func:`igcl.reports.inputs.read_reports`
    reads, or a RadGraph JSON file (its space-joined ``text``, which its graphs' offsets index)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        from igcl.reports.radgraph_json import study_id_from_key

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read the RadGraph JSON ({err})") from err
        return {study_id_from_key(key): str(value.get("text", "")) for key, value in data.items()
                if isinstance(value, Mapping)}
    from igcl.reports.inputs import read_reports

    reports = read_reports(path)
    return dict(zip(reports.study_ids, reports.texts))


def _spans(study_id: str, nodes: Sequence[Mapping[str, Any]], text: str) -> list[tuple[int, int]]:
    spans = []
    for k, node in enumerate(nodes):
        start, end = int(node["start"]), int(node["end"])
        if text[start:end] != node["text"]:
            raise ValueError(f"study {study_id}: node {k} ({node['text']!r}) has offsets {start}..{end}, where its "
                             f"report reads {text[start:end]!r}: the graphs were parsed from other report texts")
        spans.append((start, end))
    return spans


def _graph_rows(graphs_dir: Path) -> Iterator[tuple[str, list[dict]]]:
    for path in graph_shard_paths(graphs_dir):
        table = read_table(path, GRAPH_SCHEMA).select(["study_id", "nodes"])
        for row in table.to_pylist():
            yield row["study_id"], row["nodes"] or []


def choose_device(device: str) -> torch.device:
    """The node_features stage's device (:func:`igcl.devices.resolve_device`)."""
    return resolve_device(device, key="node_features.device")


def run_node_features_stage(graphs_dir: str | os.PathLike[str], reports_path: str | os.PathLike[str],
                            model_path: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                            cfg: NodeFeaturesConfig) -> Counts:
    """Write the node-feature store ``out_dir`` for every graph of ``graphs_dir`` (see the module docstring)."""
    started = time.perf_counter()
    out = Path(out_dir)
    remove_litter(out)
    tokenizer, model = load_text_model(model_path, key=MODEL_KEY)
    device = choose_device(cfg.device)
    embedder = EntityEmbedder(tokenizer, model, layers=cfg.layers, max_length=cfg.max_length, overlap=cfg.overlap,
                              batch_size=cfg.batch_size, device=device)
    texts = read_report_texts(reports_path)
    graphs = list(_graph_rows(Path(graphs_dir)))
    seen: set[str] = set()
    for study_id, _ in graphs:
        if study_id in seen:
            raise ValueError(f"{graphs_dir}: study {study_id} has two graphs")
        seen.add(study_id)
        if study_id not in texts:
            raise ValueError(f"{reports_path}: no report for study {study_id} of {graphs_dir} (the node features "
                             "need the report texts the graphs were parsed from)")
    total = sum(len(nodes) for _, nodes in graphs)
    log.info("%s: %d graphs, %d nodes, model %s (%d-d, %d-token windows) on %s", graphs_dir, len(graphs), total,
             model_path, embedder.dim, embedder.max_length, device)
    dtype = np.dtype(cfg.dtype)
    info = {"format": STORE_FORMAT, "dim": embedder.dim, "model": model_name(model_path),
            "model_sha256": folder_fingerprint(model_path), "model_type": model.config.model_type,
            "settings": {k: v for k, v in to_dict(cfg).items() if k not in ("batch_size", "device")},
            "max_length": embedder.max_length, "nodes": total, "graphs": len(graphs)}
    with disk_full_is_an_error(out), atomic_dir(out) as tmp:
        array = np.lib.format.open_memmap(tmp / FEATURES_FILE, mode="w+", dtype=dtype, shape=(total, embedder.dim))
        offsets, offset = [], 0
        progress = tqdm(total=len(graphs), desc="node_features", unit="report", dynamic_ncols=True)
        for k in range(0, len(graphs), REPORTS_PER_CHUNK):
            chunk = graphs[k:k + REPORTS_PER_CHUNK]
            reports = [(texts[s], _spans(s, nodes, texts[s])) for s, nodes in chunk]
            for (study_id, nodes), vectors in zip(chunk, embedder.embed(reports)):
                array[offset:offset + len(nodes)] = vectors.astype(dtype)
                offsets.append(offset)
                offset += len(nodes)
            progress.update(len(chunk))
        progress.close()
        array.flush()
        del array
        index = pa.table({"study_id": [s for s, _ in graphs], "offset": pa.array(offsets, pa.int64()),
                          "nodes": pa.array([len(n) for _, n in graphs], pa.int32())})
        write_table(index, tmp / INDEX_FILE, NODE_FEATURES_INDEX_SCHEMA)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    counts = embedder.counts
    if counts.nodes_without_tokens:
        log.warning("%d node(s) cover no sub-token of their report (zero vectors)", counts.nodes_without_tokens)
    write_sidecar(out, config={**to_dict(cfg), "model_path": str(model_path)}, rows=vars(counts),
                  seconds=time.perf_counter() - started,
                  extra={"graphs": str(graphs_dir), "reports": str(reports_path), "device": str(device)})
    log.info("wrote %s: %d nodes of %d reports (%d windows, %d long reports)", out, counts.nodes, counts.reports,
             counts.windows, counts.long_reports)
    return counts


@dataclass(frozen=True)
class NodeFeaturesInputs:
    graphs: str | os.PathLike[str]   # the parse stage's graph folder
    reports: str | os.PathLike[str]  # what the parse stage read (the nodes' offsets index those texts)
    model: str | os.PathLike[str]    # a local Hugging Face model folder


@dataclass(frozen=True)
class NodeFeaturesOutputs:
    store: str | os.PathLike[str]  # the node-feature store folder (igcl.contracts.node_features)


def run_node_features(config: NodeFeaturesConfig, inputs: NodeFeaturesInputs,
                      outputs: NodeFeaturesOutputs) -> Sidecar:
    """The node_features stage (:func:`run_node_features_stage`); returns the store's sidecar."""
    run_node_features_stage(inputs.graphs, inputs.reports, inputs.model, outputs.store, config)
    return read_sidecar(outputs.store)
