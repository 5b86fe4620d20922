"""save_pretrained / load_pretrained: round trips per method, and clear errors for bad checkpoint directories."""

import json

import pytest
import torch

from igcl.models.checkpoint import load_pretrained, save_pretrained
from igcl.models.dual import GraphSpec, ModelSpec, TextSpec, build_model
from igcl.models.graph_vocab import GraphVocab
from igcl.models.text_encoder import ReportTokenizer

GRAPHS = [{"study_id": "s1", "nodes": [{"text": "pleural", "label": "ANAT-DP", "start": 0, "end": 7,
                                         "section": "findings"},
                                        {"text": "effusion", "label": "OBS-DP", "start": 8, "end": 16,
                                         "section": "findings"}],
           "edges": [{"src": 1, "dst": 0, "relation": "located_at"}]},
          {"study_id": "s2", "nodes": [], "edges": []}]
REPORTS = ["FINDINGS: small left pleural effusion. IMPRESSION: effusion.", "No acute process.",
           "Mild pulmonary edema and cardiomegaly."] * 5


def save(tmp_path, method):
    vocab = tokenizer = None
    graph = text = None
    if method == "igcl":
        vocab = GraphVocab.build(GRAPHS)
        graph = GraphSpec(vocab_size=len(vocab), hidden_dim=16, heads=2)
    if method == "convirt":
        tokenizer = ReportTokenizer.train(REPORTS, vocab_size=60, max_tokens=16)
        text = TextSpec(vocab_size=tokenizer.vocab_size, dim=16, layers=1, heads=2, max_tokens=16)
    spec = ModelSpec(method=method, image_model="test_resnet", image_size=32, projection_dim=8, graph=graph,
                     text=text)
    model = build_model(spec, seed=3)
    out = tmp_path / method
    save_pretrained(out, model, pretrain_config={"seed": 3}, vocab=vocab, tokenizer=tokenizer)
    return out, model


@pytest.mark.parametrize("method", ["igcl", "image_only", "random"])
def test_round_trip(tmp_path, method):
    out, model = save(tmp_path, method)
    loaded = load_pretrained(out)
    assert loaded.method == method and loaded.image_size == 32 and loaded.feature_dim == 96
    assert not loaded.model.training
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded.image_encoder(x), model.image_encoder(x))
        assert loaded.image_encoder(x).shape == (2, 96)
    emb = loaded.embed_images(x)
    assert emb.shape == (2, 8) and torch.allclose(emb.norm(dim=1), torch.ones(2), atol=1e-5)
    if method == "igcl":
        assert loaded.has_report_encoder
        rep = loaded.embed_reports(graphs=GRAPHS)
        assert rep.shape == (2, 8) and torch.allclose(rep.norm(dim=1), torch.ones(2), atol=1e-5)
    else:
        assert not loaded.has_report_encoder
        with pytest.raises(ValueError, match="has no report encoder"):
            loaded.embed_reports(texts=["x"], graphs=GRAPHS)


def test_seeded_construction():
    spec = ModelSpec(method="random", image_model="test_resnet", image_size=32, projection_dim=8)
    a, b, c = build_model(spec, seed=1), build_model(spec, seed=1), build_model(spec, seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_missing_and_corrupt_files(tmp_path):
    out, _ = save(tmp_path, "igcl")
    with pytest.raises(ValueError, match="checkpoint directory is missing"):
        load_pretrained(tmp_path / "nowhere")
    weights = out / "checkpoint.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="checkpoint.safetensors: corrupt or unreadable"):
        load_pretrained(out)
    weights.unlink()
    with pytest.raises(ValueError, match="checkpoint.safetensors: weights file is missing"):
        load_pretrained(out)
    weights.write_bytes(good)
    (out / "graph_vocab.json").unlink()
    with pytest.raises(ValueError, match="graph_vocab.json: graph vocabulary file is missing"):
        load_pretrained(out)
    (out / "config.json").write_text("{trunc")
    with pytest.raises(ValueError, match="config.json: corrupt checkpoint config"):
        load_pretrained(out)


def test_wrong_architecture(tmp_path):
    out, _ = save(tmp_path, "image_only")
    config = json.loads((out / "config.json").read_text())
    config["model"]["projection_dim"] = 4
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"checkpoint.safetensors: weights do not fit .*shape mismatch"):
        load_pretrained(out)
    config["model"]["image_model"] = "resnet10t"
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"weights do not fit the architecture .*missing"):
        load_pretrained(out)


def test_the_same_weights_give_the_same_bytes_in_another_process(tmp_path):
    """safetensors orders its metadata by a per-process hash seed; save_weights sorts it, so a rerun can be
    byte-identical to the first run."""
    import subprocess
    import sys

    code = ("import sys, torch; from igcl.models.checkpoint import save_weights; torch.manual_seed(0); "
            "save_weights(torch.nn.Linear(3, 2), sys.argv[1], "
            "metadata={'method': 'random', 'format': 'igcl-pretrained/1', 'z': '1', 'a': '2'})")
    outputs = [tmp_path / f"w{i}.safetensors" for i in range(4)]
    for out in outputs:
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True)
    assert len({out.read_bytes() for out in outputs}) == 1
