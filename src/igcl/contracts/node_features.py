"""Node-feature stores: one contextual vector per graph node, written by ``igcl node_features`` beside the graph
shards (``data/node_features/<model>/``) and read by igcl's graph encoder (``pretrain.graph.node_features:
text_model``).

Folder layout (written whole with :func:`igcl.io.atomic_dir`; sidecar ``<folder>.meta.json``)::

    features.npy     float32 or float16 [N, D]: row r is node k of study s where r = offset(s) + k; studies in graph
                     shard order (part-00000 first, rows in shard order), nodes in each graph's ``nodes`` order
    index.parquet    NODE_FEATURES_INDEX_SCHEMA, one row per graph: study_id string, offset int64, nodes int32
    info.json        the model (folder name and sha256 fingerprint of its files), D, and the settings used

``features.npy`` is memory-mapped, so a store of MIMIC-CXR's ~4M entities (~12 GiB at float32 with BERT-base) is
never read whole; :meth:`NodeFeatureStore.vectors` copies one study's rows as float32.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from igcl.contracts.schema import read_table

FEATURES_FILE = "features.npy"
INDEX_FILE = "index.parquet"
INFO_FILE = "info.json"
STORE_FORMAT = "igcl-node-features/1"

NODE_FEATURES_INDEX_SCHEMA = pa.schema([
    ("study_id", pa.string()),
    ("offset", pa.int64()),
    ("nodes", pa.int32()),
])


class NodeFeatureStore:
    """A store folder opened for reading (see the module docstring); picklable (reopens the memory map)."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"{self.folder}: no such node-feature folder (run the node_features stage)")
        info_path = self.folder / INFO_FILE
        try:
            self.info: dict[str, Any] = json.loads(info_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{info_path}: missing or unreadable node-feature info ({err})") from err
        if self.info.get("format") != STORE_FORMAT:
            raise ValueError(f"{info_path}: not a node-feature store (expected format {STORE_FORMAT!r})")
        table = read_table(self.folder / INDEX_FILE, NODE_FEATURES_INDEX_SCHEMA)
        studies = table["study_id"].to_pylist()
        offsets = table["offset"].to_pylist()
        counts = table["nodes"].to_pylist()
        self.index: dict[str, tuple[int, int]] = dict(zip(studies, zip(offsets, counts)))
        if len(self.index) != len(studies):
            raise ValueError(f"{self.folder / INDEX_FILE}: a study appears twice")
        self._array: np.ndarray | None = None
        rows, dim = self.array.shape
        if dim != self.info.get("dim"):
            raise ValueError(f"{self.folder / FEATURES_FILE}: {dim} columns, {info_path} says {self.info.get('dim')}")
        if sum(counts) != rows:
            raise ValueError(f"{self.folder / FEATURES_FILE}: {rows} rows, the index counts {sum(counts)} nodes")

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            path = self.folder / FEATURES_FILE
            try:
                self._array = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as err:
                raise ValueError(f"{path}: missing or unreadable node features ({err})") from err
            if self._array.ndim != 2:
                raise ValueError(f"{path}: expected a 2-d array, got shape {self._array.shape}")
        return self._array

    @property
    def dim(self) -> int:
        return int(self.array.shape[1])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}  # DataLoader workers map the file themselves

    def __contains__(self, study_id: str) -> bool:
        return study_id in self.index

    def vectors(self, study_id: str) -> np.ndarray:
        """The study's node vectors ``[n, D]`` float32, in its graph's node order."""
        if study_id not in self.index:
            raise ValueError(f"{self.folder}: no node features for study {study_id} (were they computed from these "
                             "graphs? rerun the node_features stage)")
        offset, count = self.index[study_id]
        return np.asarray(self.array[offset:offset + count], dtype=np.float32)

    def check_graphs(self, graphs: Mapping[str, Mapping[str, Any]]) -> None:
        """Every graph has a row of vectors per node; ValueError naming the study otherwise."""
        for study_id, graph in graphs.items():
            if study_id not in self.index:
                self.vectors(study_id)
            nodes = len(graph["nodes"] or [])
            if self.index[study_id][1] != nodes:
                raise ValueError(f"{self.folder}: study {study_id} has {self.index[study_id][1]} node vectors but "
                                 f"its graph has {nodes} nodes: the features were computed from other graphs "
                                 "(rerun the node_features stage)")
