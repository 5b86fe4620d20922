"""Node features from a local text model: the authors' recipe against a direct transformers computation, the window
rule, the stage's files, and errors that name the model folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from igcl.config import from_mapping
from igcl.models.hf_text import load_text_model
from igcl.reports.node_features import (EntityEmbedder, plan_windows, run_node_features_stage, token_owners)
from igcl.reports.node_features_config import NodeFeaturesConfig
from igcl.contracts.node_features import FEATURES_FILE, INDEX_FILE, INFO_FILE, NodeFeatureStore
from igcl.train.config import PretrainConfig
from igcl.train.synthetic import write_synthetic_pairs

REPORT = "FINDINGS:\nMild right pleural effusion. No pneumothorax.\nIMPRESSION: small effusion."


def direct_vectors(model, ids: list[int]) -> np.ndarray:
    """Sum of the last 4 hidden states of one input, computed with transformers alone: [L, D]."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return torch.stack(out.hidden_states[-4:]).sum(0)[0].numpy()


def embedder(tiny_bert, **overrides):
    tokenizer, model = load_text_model(tiny_bert, key="test")
    settings = {"layers": 4, "max_length": None, "overlap": 16, "batch_size": 3, **overrides}
    return EntityEmbedder(tokenizer, model, **settings), tokenizer, model


def test_an_entity_vector_is_the_mean_of_its_subtokens_summed_last_four_layers(tiny_bert):
    emb, tokenizer, model = embedder(tiny_bert)
    start = REPORT.index("pleural effusion")
    span = (start, start + len("pleural effusion"))
    [vectors] = emb.embed([(REPORT, [span, (REPORT.index("pneumothorax"), REPORT.index("pneumothorax") + 12)])])
    enc = tokenizer(REPORT, return_offsets_mapping=True)  # [CLS] report [SEP]: the whole report as context
    tokens = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and a < span[1] and b > span[0]]
    assert [enc.tokens()[i] for i in tokens] == ["pleural", "effusion"]
    expected = direct_vectors(model, enc["input_ids"])[tokens].mean(axis=0)
    np.testing.assert_allclose(vectors[0], expected, rtol=1e-5, atol=1e-5)
    assert vectors.shape == (2, 32)


def test_windows_cover_long_reports_and_each_token_keeps_context():
    windows = plan_windows(100, 30, 10)
    assert windows[0] == (0, 30) and windows[-1] == (70, 100)
    owners = token_owners(100, windows)
    for t in range(100):
        start, end = windows[owners[t]]
        assert start <= t < end
        # at least overlap // 2 tokens each side, or up to the report's edge
        assert min(t - start, end - 1 - t) >= min(5, t, 99 - t)
    assert plan_windows(30, 30, 10) == [(0, 30)]


def test_a_long_report_takes_each_token_from_its_max_context_window(tiny_bert):
    text = " ".join(["mild right pleural effusion and small left lung base opacity."] * 12)
    emb, tokenizer, model = embedder(tiny_bert, overlap=16)
    [(offsets, vectors)] = emb.token_vectors([text])
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 62  # longer than the model's 64 positions: windowed
    windows = plan_windows(len(ids), 62, 16)
    owners = token_owners(len(ids), windows)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for w, (start, end) in enumerate(windows):
        direct = direct_vectors(model, [cls, *ids[start:end], sep])[1:-1]
        mine = np.nonzero(owners[start:end] == w)[0]
        np.testing.assert_allclose(vectors[start + mine], direct[mine], rtol=1e-5, atol=1e-5)
    # a report that fits one window is the unwindowed computation
    short = " ".join(text.split()[:20])
    [(_, short_vectors)] = emb.token_vectors([short])
    short_ids = tokenizer(short)["input_ids"]
    np.testing.assert_allclose(short_vectors, direct_vectors(model, short_ids)[1:-1], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_synthetic_pairs(tmp_path_factory.mktemp("nf_pairs"), studies=30, size=16, seed=3)


def test_the_stage_writes_a_store_aligned_with_the_graphs_and_reruns_byte_identically(tiny_bert, pairs, tmp_path):
    cfg = NodeFeaturesConfig(batch_size=4)
    out = tmp_path / "node_features" / "tiny-bert"
    counts = run_node_features_stage(pairs["graphs"], pairs["manifest"], tiny_bert, out, cfg)
    assert sorted(p.name for p in out.iterdir()) == [FEATURES_FILE, INDEX_FILE, INFO_FILE]
    sidecar = json.loads((out.parent / "tiny-bert.meta.json").read_text())
    assert sidecar["rows"]["nodes"] == counts.nodes > 0
    store = NodeFeatureStore(out)
    assert store.dim == 32 and store.info["model"] == "tiny-bert"
    from igcl.train.data import load_graphs
    graphs = load_graphs(pairs["graphs"], sorted(store.index), split="all")
    store.check_graphs(graphs)
    first = sorted(store.index)[0]
    assert store.vectors(first).shape == (len(graphs[first]["nodes"]), 32)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    run_node_features_stage(pairs["graphs"], pairs["manifest"], tiny_bert, out, NodeFeaturesConfig(batch_size=4))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing", "does not exist"),
    (lambda tmp: (tmp / "file.bin").write_text("x") and tmp / "file.bin", "is not a folder"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "has no config.json"),
])
def test_a_path_that_is_no_model_folder_fails_the_config_check(tmp_path, make, message):
    path = make(tmp_path)
    for values in ({"graph": {"node_features": "text_model", "text_model_path": str(path)}},
                   {"text": {"model_path": str(path)}}):
        with pytest.raises(ValueError, match=message) as err:
            from_mapping(PretrainConfig, values, where="pretrain")
        assert str(path) in str(err.value)


def test_text_model_needs_a_path_and_freezing_needs_a_model():
    with pytest.raises(ValueError, match="needs pretrain.graph.text_model_path"):
        from_mapping(PretrainConfig, {"graph": {"node_features": "text_model"}}, where="pretrain")
    with pytest.raises(ValueError, match="freeze_layers needs"):
        from_mapping(PretrainConfig, {"text": {"freeze_layers": 2}}, where="pretrain")


def test_a_folder_without_weights_or_with_another_models_tokenizer_fails_at_stage_start(tiny_bert, make_tiny_bert,
                                                                                         pairs, tmp_path):
    import shutil

    no_weights = tmp_path / "no-weights"
    shutil.copytree(tiny_bert, no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="cannot load the model's weights") as err:
        run_node_features_stage(pairs["graphs"], pairs["manifest"], no_weights, tmp_path / "out", NodeFeaturesConfig())
    assert str(no_weights) in str(err.value)
    mismatched = make_tiny_bert(tmp_path / "mismatched", vocab_extra=-40)
    with pytest.raises(ValueError, match="tokenizer belongs to another model") as err:
        run_node_features_stage(pairs["graphs"], pairs["manifest"], mismatched, tmp_path / "out", NodeFeaturesConfig())
    assert str(mismatched) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_graphs_from_other_reports_are_an_error_naming_the_study(tiny_bert, pairs, tmp_path):
    import pyarrow as pa

    from igcl.contracts.schema import GRAPH_SCHEMA, write_table

    bad = {"study_id": "s50000000", "nodes": [{"text": "effusion", "label": "OBS-DP", "start": 0, "end": 8,
                                               "section": "findings"}], "edges": []}
    write_table(pa.Table.from_pylist([bad], schema=GRAPH_SCHEMA), tmp_path / "graphs" / "part-00000.parquet",
                GRAPH_SCHEMA)
    with pytest.raises(ValueError, match="study s50000000: node 0"):
        run_node_features_stage(tmp_path / "graphs", pairs["manifest"], tiny_bert, tmp_path / "out",
                                NodeFeaturesConfig())


def test_the_cli_runs_the_stage(tiny_bert, pairs, tmp_path):
    from igcl.cli.main import main

    out = tmp_path / "node_features" / "tiny-bert"
    assert main(["node_features", "--settings", json.dumps({"layers": 2}), "--runtime", json.dumps({"batch_size": 2}),
                 "--graphs", str(pairs["graphs"]), "--reports", str(pairs["manifest"]), "--model", str(tiny_bert),
                 "--out", str(out), "--threads", "1"]) == 0
    assert NodeFeatureStore(out).info["settings"]["layers"] == 2
    with pytest.raises(ValueError, match="does not exist"):
        main(["node_features", "--graphs", str(pairs["graphs"]), "--reports", str(pairs["manifest"]),
              "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x")])
