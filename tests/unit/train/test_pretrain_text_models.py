"""Pretraining with local Hugging Face text models: igcl on text-model node features, convirt on a pretrained text
encoder; both save checkpoints that evaluation loads without the original model folder."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch
from pretrain_helpers import tiny_config

from igcl.models.checkpoint import load_pretrained
from igcl.models.hf_text import load_text_model
from igcl.reports.node_features import run_node_features_stage
from igcl.reports.node_features_config import NodeFeaturesConfig
from igcl.contracts.node_features import NodeFeatureStore
from igcl.contracts.schema import GRAPH_SCHEMA, read_table
from igcl.train.loop import pretrain


def test_igcl_trains_on_text_model_node_features_and_embeds_graphs_with_them(synthetic_inputs, tiny_bert, tmp_path):
    store_dir = tmp_path / "node_features" / "tiny-bert"
    run_node_features_stage(synthetic_inputs.graphs, synthetic_inputs.manifest, tiny_bert, store_dir,
                            NodeFeaturesConfig(batch_size=8))
    config = tiny_config(epochs=1, graph={"node_features": "text_model", "text_model_path": str(tiny_bert)})
    with pytest.raises(ValueError, match="needs --node-features"):
        pretrain(config, "igcl", synthetic_inputs, tmp_path / "no_features")
    inputs = dataclasses.replace(synthetic_inputs, node_features=store_dir)
    out = pretrain(config, "igcl", inputs, tmp_path / "igcl")
    model = load_pretrained(out)
    assert model.model.spec.graph.node_features == "text_model" and model.model.spec.graph.node_feature_dim == 32
    assert not hasattr(model.model.other_encoder, "token_embedding")
    graphs = read_table(synthetic_inputs.graphs / "part-00000.parquet", GRAPH_SCHEMA).to_pylist()[:5]
    with pytest.raises(ValueError, match="node_vectors"):
        model.embed_reports(graphs=graphs)
    store = NodeFeatureStore(store_dir)
    rows = [{**g, "node_vectors": store.vectors(g["study_id"])} for g in graphs]
    embeddings = model.embed_reports(graphs=rows)
    assert embeddings.shape == (5, 32) and torch.isfinite(embeddings).all()


def test_convirt_from_a_local_model_trains_saves_and_loads_without_the_folder(synthetic_inputs, tiny_bert, tmp_path):
    folder = tmp_path / "bert-copy"
    shutil.copytree(tiny_bert, folder)
    config = tiny_config(epochs=1, text={"model_path": str(folder), "freeze_layers": 2, "max_tokens": 48})
    out = pretrain(config, "convirt", synthetic_inputs, tmp_path / "convirt")
    _, original = load_text_model(folder, key="test")
    shutil.rmtree(folder)  # evaluation must not need it
    model = load_pretrained(out)
    encoder = model.model.other_encoder.model
    frozen = dict(original.named_parameters())
    # embeddings and the first 2 layers frozen (unchanged), a later layer trained
    for name in ("embeddings.word_embeddings.weight", "encoder.layer.1.output.dense.weight"):
        assert torch.equal(dict(encoder.named_parameters())[name], frozen[name])
    assert not torch.equal(dict(encoder.named_parameters())["encoder.layer.3.output.dense.weight"],
                           frozen["encoder.layer.3.output.dense.weight"])
    texts = [p.read_text() for p in sorted((synthetic_inputs.manifest.parent / "reports").glob("*.txt"))[:4]]
    embeddings = model.embed_reports(texts=texts)
    assert embeddings.shape == (4, 32) and torch.isfinite(embeddings).all()
    assert (out / "text_model" / "tokenizer.json").is_file()


def test_retrieval_embeds_graphs_with_their_text_model_node_vectors(synthetic_inputs, tiny_bert, tmp_path):
    """`igcl evaluate`'s retrieval for an igcl run on text-model features reads the node_features store."""
    from igcl.data.imageshards.reader import ImageShard, normalize_images
    from igcl.evaluate.pipeline import EvaluateInputs
    from igcl.evaluate.context import Forward, Intervals
    from igcl.evaluate.retrieval import RetrievalData, run_retrieval
    from igcl.evaluate.targets import read_image_table
    from igcl.labels import COMPETITION_PATHOLOGIES

    store_dir = tmp_path / "node_features" / "tiny-bert"
    run_node_features_stage(synthetic_inputs.graphs, synthetic_inputs.manifest, tiny_bert, store_dir,
                            NodeFeaturesConfig(batch_size=8))
    config = tiny_config(epochs=1, graph={"node_features": "text_model", "text_model_path": str(tiny_bert)})
    model = load_pretrained(pretrain(config, "igcl", dataclasses.replace(synthetic_inputs, node_features=store_dir),
                                     tmp_path / "igcl"))
    with pytest.raises(ValueError, match="needs --node-features"):
        EvaluateInputs(tmp_path, tmp_path, tmp_path, synthetic_inputs.images, synthetic_inputs.image_index,
                       graphs_dir=synthetic_inputs.graphs).check_retrieval("igcl", node_vectors=True)
    table = read_image_table(synthetic_inputs.image_index, COMPETITION_PATHOLOGIES)
    split = next(s for s in ("test", "validate", "train") if (table.splits == s).any())
    # the synthetic studies carry no CheXpert labels: give each one positive, so every study is a query
    labels = np.zeros_like(table.raw_labels)
    labels[np.arange(len(labels)), np.arange(len(labels)) % labels.shape[1]] = 1.0
    table = dataclasses.replace(table, raw_labels=labels)
    kwargs = dict(method="igcl", pathologies=COMPETITION_PATHOLOGIES, views=("PA", "AP"), per_class=5, ks=(1,),
                  seeds=(0,), forward=Forward(16, torch.device("cpu"), model.image_size), intervals=Intervals(5, 0.95))
    images = ImageShard(synthetic_inputs.images, synthetic_inputs.image_index).array
    data = RetrievalData(table.select(split, ("PA", "AP")), images, normalize_images,
                         graphs_dir=synthetic_inputs.graphs)
    with pytest.raises(ValueError, match="node_vectors"):
        run_retrieval(model, data, **kwargs)
    rows, info = run_retrieval(model, dataclasses.replace(data, node_features=store_dir), **kwargs)
    assert rows and all(0.0 <= row["precision"] <= 1.0 for row in rows)
