"""A small synthetic image-report data set whose images carry what their graphs and texts say, for tests and
``bench/train_step`` (no real data needed).

Each study draws, for each of five findings, a state from {absent, mild, large}. Its image(s) hold, per present
finding, a sinusoidal texture with the finding's own orientation and frequency, at an amplitude given by the
severity, over uniform noise. Its graph holds per present finding ``severity -modify-> finding -located_at->
anatomy`` (one component per finding) and per absent finding a lone OBS-DA node; its report says the same in
words under FINDINGS/IMPRESSION headers. A model that learns the textures can retrieve the right graph for an
image, which is what the tests check.

Files written under ``root`` (the pipeline's formats): ``pretrain.npy`` + ``pretrain.index.parquet`` (image
shard), ``graphs/part-00000.parquet`` (GRAPH_SCHEMA), ``manifest.parquet`` (MANIFEST_SCHEMA) and
``reports/{study}.txt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from igcl.data.imageshards.index import INDEX_SCHEMA
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import GRAPH_SCHEMA, MANIFEST_SCHEMA, write_table

FINDINGS = (("effusion", "pleural", 0.0, 3.0), ("opacity", "lobe", 0.8, 5.0), ("edema", "pulmonary", 1.6, 2.0),
            ("pneumothorax", "apex", 2.4, 7.0), ("cardiomegaly", "cardiac", 3.1, 4.0))
SEVERITY = {1: ("mild", 35.0), 2: ("large", 80.0)}


FINDINGS_START = len("EXAMINATION: chest radiograph\nFINDINGS:\n")


def _node(text: str, label: str, sentence: str, at: int) -> dict:
    # start/end index the report as the parse stage's do (node text = the report's characters there)
    start = at + sentence.lower().index(text)
    return {"text": sentence[start - at:start - at + len(text)], "label": label, "start": start,
            "end": start + len(text), "section": "findings"}


def study_graph(study_id: str, states: np.ndarray) -> tuple[dict, str]:
    nodes, edges, sentences = [], [], []
    at = FINDINGS_START
    for (name, anatomy, _, _), state in zip(FINDINGS, states):
        if state == 0:
            sentence = f"No {name}."
            nodes.append(_node(name, "OBS-DA", sentence, at))
        else:
            word = SEVERITY[int(state)][0]
            sentence = f"{word.capitalize()} {anatomy} {name}."
            base = len(nodes)
            nodes += [_node(word, "OBS-DP", sentence, at), _node(name, "OBS-DP", sentence, at),
                      _node(anatomy, "ANAT-DP", sentence, at)]
            edges += [{"src": base, "dst": base + 1, "relation": "modify"},
                      {"src": base + 1, "dst": base + 2, "relation": "located_at"}]
        sentences.append(sentence)
        at += len(sentence) + 1
    text = "EXAMINATION: chest radiograph\nFINDINGS:\n" + " ".join(sentences) + "\nIMPRESSION:\n" + sentences[0] + "\n"
    return {"study_id": study_id, "nodes": nodes, "edges": edges}, text


def synthetic_image(states: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    image = rng.uniform(70, 130, size=(size, size))
    for (_, _, angle, freq), state in zip(FINDINGS, states):
        if state:
            phase = rng.uniform(0, 2 * np.pi)
            wave = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
            image += SEVERITY[int(state)][1] * wave
    return np.clip(image, 0, 255).astype(np.uint8)


def write_synthetic_pairs(root: str | Path, *, studies: int = 120, size: int = 32, seed: int = 0,
                          split_fractions: tuple[float, float] = (0.7, 0.15)) -> dict[str, Path]:
    """Write the data set; returns paths ``images``, ``image_index``, ``graphs``, ``manifest``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    (root / "reports").mkdir(parents=True, exist_ok=True)
    images, index_rows, graphs, manifest_rows = [], [], [], []
    n_train = int(studies * split_fractions[0])
    n_val = int(studies * split_fractions[1])
    for s in range(studies):
        study = f"s{50000000 + s}"
        split = "train" if s < n_train else "validate" if s < n_train + n_val else "test"
        states = rng.choice(3, size=len(FINDINGS), p=[0.5, 0.25, 0.25])
        graph, text = study_graph(study, states)
        graphs.append(graph)
        report = root / "reports" / f"{study}.txt"
        report.write_text(text)
        for k in range(int(rng.integers(1, 3))):
            image_id = f"{study}-{k}"
            images.append(synthetic_image(states, size, rng))
            labels = {name: None for name in CHEXPERT_OBSERVATIONS}
            index_rows.append({"row": len(index_rows), "study_id": study, "patient_id": f"p{s}",
                               "image_id": image_id, "split": split, "view": "PA", **labels})
            manifest_rows.append({"study_id": study, "patient_id": f"p{s}", "image_id": image_id, "split": split,
                                  "image_path": str(root / f"{image_id}.jpg"), "view": "PA",
                                  "report_path": str(report), "labels": labels})
    np.save(root / "pretrain.npy", np.stack(images))
    write_table(pa.Table.from_pylist(index_rows, schema=INDEX_SCHEMA), root / "pretrain.index.parquet", INDEX_SCHEMA)
    write_table(pa.Table.from_pylist(graphs, schema=GRAPH_SCHEMA), root / "graphs" / "part-00000.parquet",
                GRAPH_SCHEMA)
    write_table(pa.Table.from_pylist(manifest_rows, schema=MANIFEST_SCHEMA), root / "manifest.parquet",
                MANIFEST_SCHEMA)
    return {"images": root / "pretrain.npy", "image_index": root / "pretrain.index.parquet",
            "graphs": root / "graphs", "manifest": root / "manifest.parquet"}
