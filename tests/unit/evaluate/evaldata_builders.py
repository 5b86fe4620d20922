"""Tiny stand-ins for the evaluate stage's inputs: image shards, MIMIC manifest + reports + graphs, checkpoints.

Imported by the evaluate unit tests and by tests/cli/test_evaluate_cli.py (which puts this folder on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from igcl.data.imageshards.index import INDEX_SCHEMA
from igcl.labels import CHEXPERT_OBSERVATIONS, COMPETITION_PATHOLOGIES
from igcl.contracts.schema import GRAPH_SCHEMA, MANIFEST_SCHEMA, write_table

SIZE = 32
FINDING_WORDS = {"Atelectasis": "atelectasis", "Cardiomegaly": "cardiomegaly", "Consolidation": "consolidation",
                 "Edema": "edema", "Pleural Effusion": "effusion"}


def draw_image(labels5: np.ndarray, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Noise plus one bright horizontal band per positive pathology (band p at rows 6p..6p+5): learnable."""
    image = rng.normal(90, 25, (size, size))
    for p, value in enumerate(labels5):
        if value == 1.0:
            image[6 * p:6 * p + 5, :] += 90
    return np.clip(image, 0, 255).astype(np.uint8)


def write_shard(path_stem: Path, records: list[dict], images: list[np.ndarray]) -> tuple[Path, Path]:
    """``{stem}.npy`` + ``{stem}.index.parquet`` (INDEX_SCHEMA); records hold ids, split, view and 14 labels."""
    npy, index = Path(f"{path_stem}.npy"), Path(f"{path_stem}.index.parquet")
    npy.parent.mkdir(parents=True, exist_ok=True)
    np.save(npy, np.stack(images))
    columns = {"row": np.arange(len(records), dtype=np.int64)}
    for name in ("study_id", "patient_id", "image_id", "split", "view"):
        columns[name] = [r[name] for r in records]
    for name in CHEXPERT_OBSERVATIONS:
        columns[name] = pa.array([r["labels"].get(name) for r in records], pa.float32())
    write_table(pa.table(columns), index, INDEX_SCHEMA)
    return npy, index


def random_labels(rng: np.random.Generator, p_pos=0.3, p_unc=0.08, p_blank=0.3) -> dict:
    labels = {}
    for name in CHEXPERT_OBSERVATIONS:
        u = rng.random()
        labels[name] = (1.0 if u < p_pos else -1.0 if u < p_pos + p_unc else None if u < p_pos + p_unc + p_blank
                        else 0.0)
    return labels


def make_eval_shard(directory: Path, *, n_train_patients=40, n_valid_patients=24, n_test_patients=0, seed=0,
                    drop_column: str | None = None, size: int = SIZE) -> tuple[Path, Path]:
    """A CheXpert-like shard: train/valid (and, with ``n_test_patients``, test) splits, 1-2 frontal images per
    patient (+ some LATERAL)."""
    rng = np.random.default_rng(seed)
    records, images = [], []
    for split, n_patients, offset in (("train", n_train_patients, 0), ("valid", n_valid_patients, 50000),
                                      ("test", n_test_patients, 60000)):
        for i in range(n_patients):
            patient = f"patient{offset + i:05d}"
            labels = random_labels(rng, p_unc=0.08 if split == "train" else 0.0)
            if split == "test":  # released test labels: consensus 0/1, never blank
                labels = {k: (v if v == 1.0 else 0.0) for k, v in labels.items()}
            views = ["PA"] + (["AP"] if rng.random() < 0.4 else []) + (["LATERAL"] if rng.random() < 0.2 else [])
            for j, view in enumerate(views):
                records.append({"study_id": f"{patient}/study1", "patient_id": patient,
                                "image_id": f"{split}/{patient}/study1/view{j + 1}.jpg", "split": split,
                                "view": view, "labels": labels})
                images.append(draw_image(np.array([labels[p] or 0.0 for p in COMPETITION_PATHOLOGIES]), rng, size))
    npy, index = write_shard(directory / "eval", records, images)
    if drop_column:
        pq.write_table(pq.read_table(index).drop_columns([drop_column]), index)
    return npy, index


def make_retrieval_inputs(directory: Path, *, per_class=4, seed=1, size: int = SIZE) -> dict[str, Path]:
    """A MIMIC-like shard (train + test splits), its manifest with report files, and graph shards."""
    rng = np.random.default_rng(seed)
    records, images, manifest_rows, graphs = [], [], [], []
    study = 0
    for split, n_per_class in (("train", 2), ("test", per_class)):
        for c, name in enumerate(COMPETITION_PATHOLOGIES):
            for _ in range(n_per_class):
                study += 1
                sid, pid = f"s{50000000 + study}", f"p{10000000 + study}"
                labels = {o: (1.0 if o == name else 0.0 if o in COMPETITION_PATHOLOGIES else None)
                          for o in CHEXPERT_OBSERVATIONS}
                report = directory / "reports" / f"{sid}.txt"
                report.parent.mkdir(parents=True, exist_ok=True)
                word = FINDING_WORDS[name]
                report.write_text(f"FINDINGS: there is {word}.\nIMPRESSION: {word}.\n")
                for view in ("PA", "LATERAL"):
                    record = {"study_id": sid, "patient_id": pid, "image_id": f"{sid}-{view}", "split": split,
                              "view": view, "labels": labels}
                    records.append(record)
                    images.append(draw_image(np.array([labels[p] for p in COMPETITION_PATHOLOGIES]), rng, size))
                    manifest_rows.append({**{k: record[k] for k in ("study_id", "patient_id", "image_id", "split",
                                                                    "view")},
                                          "image_path": f"/nowhere/{sid}-{view}.jpg", "report_path": str(report),
                                          "labels": labels})
                graphs.append({"study_id": sid, "nodes": [
                    {"text": word, "label": "OBS-DP", "start": 13, "end": 13 + len(word), "section": "findings"}],
                    "edges": []})
    # a study with two positives, never a query
    study += 1
    sid = f"s{50000000 + study}"
    two = {o: (1.0 if o in COMPETITION_PATHOLOGIES[:2] else None) for o in CHEXPERT_OBSERVATIONS}
    records.append({"study_id": sid, "patient_id": "p1", "image_id": sid, "split": "test", "view": "PA",
                    "labels": two})
    images.append(draw_image(np.array([two[p] or 0.0 for p in COMPETITION_PATHOLOGIES]), rng, size))
    npy, index = write_shard(directory / "pretrain", records, images)
    manifest = directory / "manifests" / "pretrain.parquet"
    write_table(pa.Table.from_pylist(manifest_rows, schema=MANIFEST_SCHEMA), manifest, MANIFEST_SCHEMA)
    graphs_dir = directory / "graphs"
    write_table(pa.Table.from_pylist(graphs, schema=GRAPH_SCHEMA), graphs_dir / "part-0000.parquet", GRAPH_SCHEMA)
    return {"images": npy, "index": index, "manifest": manifest, "graphs": graphs_dir}


def save_checkpoint(directory: Path, method: str, *, seed: int = 3, image_model: str = "test_resnet",
                    image_size: int = SIZE) -> Path:
    """A real checkpoint (default: timm ``test_resnet`` at 32 px, F = 96) written by igcl's own save_pretrained."""
    from igcl.models.checkpoint import save_pretrained
    from igcl.models.dual import GraphSpec, ModelSpec, TextSpec, build_model
    from igcl.models.graph_vocab import GraphVocab
    from igcl.models.text_encoder import ReportTokenizer

    vocab = tokenizer = graph = text = None
    if method == "igcl":
        vocab = GraphVocab.build([{"study_id": "s", "nodes": [{"text": w, "label": "OBS-DP", "start": 0, "end": 1,
                                                                "section": "findings"} for w in FINDING_WORDS.values()],
                                   "edges": []}])
        graph = GraphSpec(vocab_size=len(vocab), hidden_dim=16, heads=2)
    if method == "convirt":
        tokenizer = ReportTokenizer.train([f"there is {w}." for w in FINDING_WORDS.values()] * 5, vocab_size=60,
                                          max_tokens=16)
        text = TextSpec(vocab_size=tokenizer.vocab_size, dim=16, layers=1, heads=2, max_tokens=16)
    spec = ModelSpec(method=method, image_model=image_model, image_size=image_size, projection_dim=8, graph=graph,
                     text=text)
    out = directory / method
    save_pretrained(out, build_model(spec, seed=seed), pretrain_config={"seed": seed}, vocab=vocab,
                    tokenizer=tokenizer)
    return out
