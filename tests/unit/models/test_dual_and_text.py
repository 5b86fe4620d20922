"""Dual encoder gradients, the report tokenizer and the text encoder's padding-invariant max-pool."""

import pytest
import torch

from igcl.losses import ContrastiveLoss
from igcl.models.dual import GraphSpec, ModelSpec, TextSpec, build_model
from igcl.models.graph_vocab import GraphVocab, encode_graphs
from igcl.models.text_encoder import CLS_ID, ReportTokenizer, TextEncoder, report_text
from igcl.train.synthetic import study_graph

REPORTS = ["FINDINGS: Mild left pleural effusion.\nIMPRESSION: Effusion.", "No pneumothorax. Heart size normal.",
           "Large right lower lobe opacity, may represent pneumonia."] * 4


def grads_nonzero(module):
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    return bool(grads) and all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_gradients_reach_both_encoders_igcl():
    graphs = [study_graph(f"s{i}", torch.tensor([i % 3, (i + 1) % 3, 0, 2, 1]).numpy())[0] for i in range(4)]
    vocab = GraphVocab.build(graphs)
    model = build_model(ModelSpec(method="igcl", image_model="test_resnet", image_size=32, projection_dim=8,
                                  graph=GraphSpec(vocab_size=len(vocab), hidden_dim=16, heads=2)), seed=0)
    images = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    ContrastiveLoss()(*model(images, encode_graphs(graphs, vocab)))["loss"].backward()
    assert grads_nonzero(model.image_encoder) and grads_nonzero(model.image_projection)
    assert grads_nonzero(model.other_projection)
    enc = model.other_encoder
    assert float(enc.token_embedding.weight.grad.abs().sum()) > 0 and float(enc.graph_token.grad.abs().sum()) > 0
    assert all(float(c.weight.grad.abs().sum()) > 0 for c in enc.convs)


def test_gradients_reach_both_encoders_convirt():
    tok = ReportTokenizer.train(REPORTS, vocab_size=80, max_tokens=32)
    model = build_model(ModelSpec(method="convirt", image_model="test_resnet", image_size=32, projection_dim=8,
                                  text=TextSpec(vocab_size=tok.vocab_size, dim=16, layers=1, heads=2, max_tokens=32)),
                        seed=0)
    images = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    ContrastiveLoss()(*model(images, tok.encode(REPORTS[:3])))["loss"].backward()
    assert grads_nonzero(model.image_encoder)
    assert float(model.other_encoder.transformer.layers[0].linear1.weight.grad.abs().sum()) > 0


def test_tokenizer_encode_and_round_trip(tmp_path):
    tok = ReportTokenizer.train(REPORTS, vocab_size=80, max_tokens=6)
    ids, mask = tok.encode(["pleural effusion", "mild left pleural effusion heart size normal opacity", ""])
    assert ids.shape[0] == 3 and ids.shape[1] <= 6
    assert (ids[:, 0] == CLS_ID).all() and mask[:, 0].all()
    assert mask[2].sum() == 1  # an empty report still has [CLS]
    tok.save(tmp_path / "tokenizer.json")
    again = ReportTokenizer.load(tmp_path / "tokenizer.json", max_tokens=6)
    assert torch.equal(again.encode(["pleural effusion"])[0], tok.encode(["pleural effusion"])[0])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json: not a readable tokenizer file"):
        ReportTokenizer.load(tmp_path / "bad.json", max_tokens=6)


def test_tokenizer_training_is_deterministic():
    """Same reports, same vocabulary and ids, every time (the library's trainer alone is not: see ReportTokenizer)."""
    import random

    rng = random.Random(0)
    words = ["effusion", "opacity", "pleural", "lobe", "lower", "upper", "mild", "severe", "edema", "atelectasis",
             "pneumothorax", "consolidation", "cardiomegaly", "unchanged", "bibasilar", "retrocardiac"]
    reports = [" ".join(rng.choice(words) for _ in range(12)) + "." for _ in range(200)]
    vocabularies = {tuple(sorted(ReportTokenizer.train(reports, vocab_size=120, max_tokens=32)
                                 .tokenizer.get_vocab().items(), key=lambda kv: kv[1])) for _ in range(8)}
    assert len(vocabularies) == 1
    tok = ReportTokenizer.train(reports, vocab_size=120, max_tokens=32)
    pieces = tok.tokenizer.encode("retrolobular").tokens  # an unseen word still splits into known pieces
    assert len(pieces) > 1 and "[UNK]" not in pieces and all(p.startswith("##") for p in pieces[1:])


def test_text_encoder_max_pool_ignores_padding():
    torch.manual_seed(0)
    enc = TextEncoder(50, dim=16, layers=1, heads=2, max_tokens=12).eval()
    ids = torch.tensor([[CLS_ID, 7, 9, 11]])
    padded = torch.tensor([[CLS_ID, 7, 9, 11, 0, 0]])
    a = enc(ids, ids != 0)
    b = enc(padded, padded != 0)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="exceeds max_tokens=12"):
        enc(torch.ones(1, 13, dtype=torch.long), torch.ones(1, 13, dtype=torch.bool))


def test_report_text_keeps_findings_and_impression():
    text = "INDICATION: cough\nFINDINGS:\nSmall effusion.\nIMPRESSION:\nEffusion.\n"
    assert report_text(text) == "Small effusion.\nEffusion."
    assert report_text("Heart size normal.") == "Heart size normal."  # no headers: the whole report


def test_model_spec_checks_method_and_branches():
    with pytest.raises(ValueError, match="a graph encoder spec is needed for graph methods"):
        ModelSpec(method="igcl", image_model="test_resnet", image_size=32)
    with pytest.raises(ValueError, match="unknown method 'clip'; known methods: igcl, convirt"):
        ModelSpec(method="clip", image_model="test_resnet", image_size=32)
    with pytest.raises(ValueError, match="pixel_components is set for pixels and only for pixels"):
        ModelSpec(method="pixels", image_model="test_resnet", image_size=32)
    with pytest.raises(ValueError, match="is not a timm model name"):
        build_model(ModelSpec(method="random", image_model="no_such_net", image_size=32), seed=0)
