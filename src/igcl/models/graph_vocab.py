"""Entity-text vocabulary and the batching of report graphs into tensors for :class:`GraphEncoder`.

A graph row is a mapping in ``GRAPH_SCHEMA`` form (``igcl.contracts.schema``)::

    {"study_id": str,
     "nodes": [{"text": str, "label": "OBS-DP" | "OBS-U" | "OBS-DA" | "ANAT-DP", "start", "end", "section"}, ...],
     "edges": [{"src": int, "dst": int, "relation": "modify" | "located_at" | "suggestive_of"}, ...]}

The vocabulary is built from the *training* graphs only (lower-cased alphanumeric tokens of each entity's text),
saved beside the checkpoint as JSON, and compared on resume, because the embedding table's size and meaning come
from it (STYLE.md: sizes that come from data travel with the weights).
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from igcl.io import atomic_path
from igcl.contracts.schema import ENTITY_LABELS, RELATIONS

UNK = "[UNK]"
TOKEN_PATTERN = re.compile(r"[a-z0-9]+")
# Edge types seen by the R-GCN: each relation (head -> tail) and its inverse (tail -> head), so that messages flow
# both ways while the encoder can still tell a modifier from what it modifies.
EDGE_TYPES: tuple[str, ...] = RELATIONS + tuple(f"{r}_inverse" for r in RELATIONS)
LABEL_INDEX = {label: i for i, label in enumerate(ENTITY_LABELS)}
RELATION_INDEX = {rel: i for i, rel in enumerate(RELATIONS)}
VOCAB_FORMAT = "igcl-graph-vocab/1"


def entity_tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens of one entity's text (``"Right-sided"`` -> ``["right", "sided"]``)."""
    return TOKEN_PATTERN.findall(text.lower())


class GraphVocab:
    """Token vocabulary of entity texts. Index 0 is ``[UNK]`` (unseen tokens and token-less entities)."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if not tokens or tokens[0] != UNK:
            raise ValueError(f"GraphVocab: the first token must be {UNK!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("GraphVocab: duplicate tokens")
        self.tokens = tokens
        self.index = {tok: i for i, tok in enumerate(tokens)}

    @classmethod
    def build(cls, graphs: Iterable[Mapping[str, Any]], *, min_freq: int = 1) -> GraphVocab:
        """Tokens occurring at least ``min_freq`` times, most frequent first (ties alphabetical: deterministic)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts: collections.Counter[str] = collections.Counter()
        for graph in graphs:
            for node in graph["nodes"]:
                counts.update(entity_tokens(node["text"]))
        kept = sorted((tok for tok, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        return cls([UNK] + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphVocab) and self.tokens == other.tokens

    def __repr__(self) -> str:
        return f"GraphVocab({len(self)} tokens)"

    def ids(self, text: str) -> list[int]:
        """Token ids of one entity text; ``[UNK]`` alone when it has no known token."""
        ids = [self.index.get(tok, 0) for tok in entity_tokens(text)]
        return ids or [0]

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"format": VOCAB_FORMAT, "tokens": self.tokens}, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> GraphVocab:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: graph vocabulary file is missing")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a valid graph vocabulary file ({err})") from err
        if not isinstance(data, dict) or data.get("format") != VOCAB_FORMAT or not isinstance(data.get("tokens"), list):
            raise ValueError(f"{path}: not a graph vocabulary file (expected format {VOCAB_FORMAT!r})")
        try:
            return cls(data["tokens"])
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


@dataclass
class GraphBatch:
    """A batch of ``G`` graphs with ``N`` nodes, ``T`` tokens, ``E`` directed edges (inverses included), ``C``
    connected components in total.

    - ``token_ids`` [T] long, ``token_offsets`` [N] long: each node's token bag (``nn.EmbeddingBag`` layout)
    - ``node_labels`` [N] long: index into ``ENTITY_LABELS``
    - ``edge_index`` [2, E] long (source row 0, target row 1), ``edge_type`` [E] long: index into ``EDGE_TYPES``
    - ``node_graph`` [N] long: graph of each node (sorted)
    - ``node_component`` [N] long: component of each node; components are numbered graph by graph
    - ``component_graph`` [C] long: graph of each component (sorted)
    - ``num_graphs``: G (graphs without nodes included)
    - ``node_vectors`` [N, D] float32 or None: each node's text-model vector (``encode_graphs(node_vectors=True)``)
    """

    token_ids: torch.Tensor
    token_offsets: torch.Tensor
    node_labels: torch.Tensor
    edge_index: torch.Tensor
    edge_type: torch.Tensor
    node_graph: torch.Tensor
    node_component: torch.Tensor
    component_graph: torch.Tensor
    num_graphs: int
    node_vectors: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> GraphBatch:
        moved = {name: getattr(self, name).to(device, non_blocking=True)
                 for name in ("token_ids", "token_offsets", "node_labels", "edge_index", "edge_type", "node_graph",
                              "node_component", "component_graph")}
        vectors = None if self.node_vectors is None else self.node_vectors.to(device, non_blocking=True)
        return GraphBatch(num_graphs=self.num_graphs, node_vectors=vectors, **moved)

    def __len__(self) -> int:
        return self.num_graphs


def _study(graph: Mapping[str, Any]) -> str:
    return str(graph.get("study_id", "<unknown study>"))


def encode_graphs(graphs: Sequence[Mapping[str, Any]], vocab: GraphVocab, *,
                  node_vectors: bool = False) -> GraphBatch:
    """Batch graph rows (GRAPH_SCHEMA form) into a :class:`GraphBatch`; bad labels, relations or node indices
    raise ValueError naming the study.

    ``node_vectors``: each row also carries ``"node_vectors"``, an array ``[n_nodes, D]`` in node order (from
    :class:`igcl.contracts.node_features.NodeFeatureStore`), batched into ``GraphBatch.node_vectors``."""
    vectors = _node_vectors(graphs) if node_vectors else None
    token_ids: list[int] = []
    offsets: list[int] = []
    labels: list[int] = []
    node_graph: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    rel: list[int] = []
    base = 0
    for g, graph in enumerate(graphs):
        nodes, edges = graph["nodes"] or [], graph["edges"] or []
        for node in nodes:
            label = LABEL_INDEX.get(node["label"])
            if label is None:
                raise ValueError(f"study {_study(graph)}: node label {node['label']!r} is not one of {ENTITY_LABELS}")
            offsets.append(len(token_ids))
            token_ids.extend(vocab.ids(node["text"]))
            labels.append(label)
            node_graph.append(g)
        for edge in edges:
            r = RELATION_INDEX.get(edge["relation"])
            if r is None:
                raise ValueError(f"study {_study(graph)}: edge relation {edge['relation']!r} is not one of {RELATIONS}")
            s, d = int(edge["src"]), int(edge["dst"])
            if not (0 <= s < len(nodes) and 0 <= d < len(nodes)):
                raise ValueError(f"study {_study(graph)}: edge {s}->{d} points outside its {len(nodes)} nodes")
            src.append(base + s)
            dst.append(base + d)
            rel.append(r)
        base += len(nodes)
    n = base
    # Connected components of the whole (undirected) batch: graphs are disjoint, so each component lies in one graph.
    if n:
        adjacency = coo_matrix((np.ones(len(src)), (np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64))),
                               shape=(n, n))
        _, comp = connected_components(adjacency, directed=True, connection="weak")
        graph_of_node = np.asarray(node_graph, dtype=np.int64)
        # Renumber components graph by graph (sorted), which to_dense_batch needs.
        uniq, node_component = np.unique(graph_of_node * n + comp, return_inverse=True)
        node_component = node_component.astype(np.int64).reshape(-1)
        component_graph = uniq // n
    else:
        node_component = np.zeros(0, dtype=np.int64)
        component_graph = np.zeros(0, dtype=np.int64)
    n_rel = len(RELATIONS)
    edge_index = torch.tensor([src + dst, dst + src], dtype=torch.long).reshape(2, -1)
    edge_type = torch.tensor(rel + [r + n_rel for r in rel], dtype=torch.long)
    return GraphBatch(
        token_ids=torch.tensor(token_ids, dtype=torch.long),
        token_offsets=torch.tensor(offsets, dtype=torch.long),
        node_labels=torch.tensor(labels, dtype=torch.long),
        edge_index=edge_index,
        edge_type=edge_type,
        node_graph=torch.tensor(node_graph, dtype=torch.long),
        node_component=torch.from_numpy(node_component),
        component_graph=torch.from_numpy(np.ascontiguousarray(component_graph)),
        num_graphs=len(graphs),
        node_vectors=vectors,
    )


def _node_vectors(graphs: Sequence[Mapping[str, Any]]) -> torch.Tensor:
    """``[N, D]`` float32 of the rows' ``node_vectors``; ValueError naming the study when one is missing or does
    not have a row per node."""
    arrays, dim = [], None
    for graph in graphs:
        array = graph.get("node_vectors")
        if array is None:
            raise ValueError(f"study {_study(graph)}: no 'node_vectors' (this encoder reads text-model node "
                             "features: the node_features stage's store)")
        array = np.asarray(array, dtype=np.float32)
        nodes = len(graph["nodes"] or [])
        if array.ndim != 2 or array.shape[0] != nodes or (dim is not None and array.shape[1] != dim):
            raise ValueError(f"study {_study(graph)}: node_vectors of shape {array.shape} for {nodes} nodes"
                             + (f" of {dim}-d vectors" if dim is not None else ""))
        dim = array.shape[1]
        arrays.append(array)
    if not arrays:
        return torch.zeros(0, 0)
    return torch.from_numpy(np.concatenate(arrays, axis=0))
