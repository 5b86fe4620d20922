"""GraphEncoder on hand-written graphs: shapes, empty/single-node/multi-component batches, node-order invariance."""

import pytest
import torch

from igcl.models.graph_encoder import GraphEncoder
from igcl.models.graph_vocab import EDGE_TYPES, GraphVocab, encode_graphs


def node(text, label="OBS-DP"):
    return {"text": text, "label": label, "start": 0, "end": len(text), "section": "findings"}


def edge(src, dst, relation):
    return {"src": src, "dst": dst, "relation": relation}


EMPTY = {"study_id": "s-empty", "nodes": [], "edges": []}
SINGLE = {"study_id": "s-single", "nodes": [node("cardiomegaly")], "edges": []}
# Two components: {mild -> edema -> pulmonary} and {effusion -> pleural}, plus an isolated node {pneumothorax}.
MULTI = {"study_id": "s-multi",
         "nodes": [node("mild"), node("edema"), node("pulmonary", "ANAT-DP"), node("effusion", "OBS-DA"),
                   node("pleural", "ANAT-DP"), node("pneumothorax", "OBS-DA")],
         "edges": [edge(0, 1, "modify"), edge(1, 2, "located_at"), edge(3, 4, "located_at")]}
GRAPHS = [EMPTY, SINGLE, MULTI]
CONFIGS = [("components", 1), ("rgcn_mean", 0), ("reaction_node", 0)]


def make_encoder(vocab, pooling, transformer_layers, seed=0):
    torch.manual_seed(seed)  # test-local: the encoder's init draws from torch's global generator
    return GraphEncoder(len(vocab), hidden_dim=16, rgcn_layers=2, pooling=pooling,
                        transformer_layers=transformer_layers, heads=4).eval()


def test_encode_graphs_components_and_inverse_edges():
    vocab = GraphVocab.build(GRAPHS)
    batch = encode_graphs(GRAPHS, vocab)
    assert batch.num_graphs == 3
    assert batch.node_graph.tolist() == [1, 2, 2, 2, 2, 2, 2]
    # components: graph 1 has one, graph 2 has three (sizes 3, 2, 1)
    assert batch.component_graph.tolist() == [1, 2, 2, 2]
    assert batch.node_component.tolist() == [0, 1, 1, 1, 2, 2, 3]
    # every relation also appears inverted (type + 3), source/target swapped
    assert batch.edge_index.shape == (2, 6)
    assert batch.edge_type.tolist() == [0, 1, 1, 3, 4, 4]
    assert batch.edge_index[:, 3].tolist() == [2, 1]
    assert len(EDGE_TYPES) == 6


def test_unknown_tokens_map_to_unk():
    vocab = GraphVocab.build([SINGLE])
    assert vocab.ids("cardiomegaly") == [1]
    assert vocab.ids("Never-seen") == [0, 0]
    assert vocab.ids("---") == [0]


@pytest.mark.parametrize("pooling,transformer_layers", CONFIGS)
def test_mixed_batch_shapes_and_finite(pooling, transformer_layers):
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, pooling, transformer_layers)
    out = enc(encode_graphs(GRAPHS, vocab))
    assert out.shape == (3, 16)
    assert torch.isfinite(out).all()
    # the empty graph gets the learned empty embedding, whatever else is in the batch
    assert torch.equal(out[0], enc.empty_embedding.detach())
    alone = enc(encode_graphs([EMPTY], vocab))
    assert torch.equal(alone[0], out[0])
    # a graph's embedding does not depend on its batch mates
    assert torch.allclose(enc(encode_graphs([MULTI], vocab))[0], out[2], atol=1e-5)
    # different graphs give different embeddings
    assert not torch.allclose(out[1], out[2], atol=1e-3)


@pytest.mark.parametrize("pooling,transformer_layers", CONFIGS)
def test_invariant_to_node_order(pooling, transformer_layers):
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, pooling, transformer_layers)
    perm = [4, 2, 5, 0, 3, 1]  # new position -> old node
    old_to_new = {old: new for new, old in enumerate(perm)}
    permuted = {"study_id": "s-multi", "nodes": [MULTI["nodes"][i] for i in perm],
                "edges": [edge(old_to_new[e["src"]], old_to_new[e["dst"]], e["relation"])
                          for e in reversed(MULTI["edges"])]}
    a = enc(encode_graphs([MULTI], vocab))
    b = enc(encode_graphs([permuted], vocab))
    assert torch.allclose(a, b, atol=1e-5)


def test_edge_direction_and_relation_matter():
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, "components", 1)
    flipped = dict(MULTI, edges=[edge(1, 0, "modify"), edge(1, 2, "located_at"), edge(3, 4, "located_at")])
    relabelled = dict(MULTI, edges=[edge(0, 1, "suggestive_of"), edge(1, 2, "located_at"), edge(3, 4, "located_at")])
    base = enc(encode_graphs([MULTI], vocab))
    assert not torch.allclose(base, enc(encode_graphs([flipped], vocab)), atol=1e-4)
    assert not torch.allclose(base, enc(encode_graphs([relabelled], vocab)), atol=1e-4)


def test_gradients_reach_embeddings():
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, "components", 1).train()
    enc(encode_graphs(GRAPHS, vocab)).pow(2).sum().backward()
    for name in ("token_embedding.weight", "label_embedding.weight", "graph_token", "empty_embedding"):
        grad = dict(enc.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("kwargs,match", [
    ({"pooling": "max"}, "pooling must be one of"),
    ({"pooling": "components", "transformer_layers": 0}, "needs transformer_layers >= 1"),
    ({"pooling": "rgcn_mean", "transformer_layers": 1}, "has no transformer"),
    ({"pooling": "reaction_node", "transformer_layers": 2}, "has no transformer"),
    ({"hidden_dim": 10, "heads": 4}, "must be >= 1 and divide hidden_dim"),
    ({"rgcn_layers": 0}, "rgcn_layers must be >= 1"),
])
def test_rejects_bad_option_combinations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GraphEncoder(10, **kwargs)


def test_reset_parameters_reinitialises():
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, "reaction_node", 0)
    assert enc.num_relations == 8 and "relations=8" in repr(enc)
    before = enc.reaction_init.detach().clone()
    torch.manual_seed(123)
    enc.reset_parameters()
    assert not torch.equal(before, enc.reaction_init)


def test_bad_graph_rows_name_the_study():
    vocab = GraphVocab.build(GRAPHS)
    with pytest.raises(ValueError, match="study s-bad: node label 'OBS-XX'"):
        encode_graphs([{"study_id": "s-bad", "nodes": [node("x", "OBS-XX")], "edges": []}], vocab)
    with pytest.raises(ValueError, match="study s-bad: edge 0->3 points outside"):
        encode_graphs([{"study_id": "s-bad", "nodes": [node("x")], "edges": [edge(0, 3, "modify")]}], vocab)
    with pytest.raises(ValueError, match="study s-bad: edge relation 'causes'"):
        encode_graphs([{"study_id": "s-bad", "nodes": [node("x")], "edges": [edge(0, 0, "causes")]}], vocab)


def test_vocab_round_trip_and_corrupt_file(tmp_path):
    vocab = GraphVocab.build(GRAPHS)
    vocab.save(tmp_path / "v.json")
    assert GraphVocab.load(tmp_path / "v.json") == vocab
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not a valid graph vocabulary"):
        GraphVocab.load(tmp_path / "bad.json")
