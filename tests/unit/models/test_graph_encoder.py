"""GraphEncoder on hand-written graphs: every pooling variant on empty/single-node/multi-component batches (shapes,
node-order invariance, independence from batch-mates), and the exact virtual nodes and edges of each layout."""

import pytest
import torch

from igcl.models.graph_encoder import GraphEncoder, virtual_nodes
from igcl.models.graph_vocab import EDGE_TYPES, GraphVocab, encode_graphs
from igcl.models.poolings import POOLINGS


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
# A chain of three {a -> b -> c} and no isolated node; two components of 3 and 1 nodes.
CHAIN = {"study_id": "s-chain", "nodes": [node("a"), node("b"), node("c", "ANAT-DP")],
         "edges": [edge(0, 1, "modify"), edge(1, 2, "located_at")]}
TWO = {"study_id": "s-two", "nodes": [node("a"), node("b"), node("c", "ANAT-DP"), node("d", "OBS-DA")],
       "edges": [edge(0, 1, "modify"), edge(1, 2, "located_at")]}
GRAPHS = [EMPTY, SINGLE, MULTI]
# (pooling, transformer_layers, other options): every variant, the layouts with and without a transformer and with
# the authors' "only where a node is isolated" rule
CONFIGS = [("components", 1, {}), ("rgcn_mean", 0, {}), ("nodes", 1, {}), ("nodes", 2, {"fc_layers": 1}),
           ("dummy", 1, {}), ("meta", 1, {}), ("reaction", 1, {}), ("dummy", 0, {}), ("reaction", 0, {}),
           ("meta", 1, {"virtual_nodes_when": "isolated_node"}), ("dummy_readout", 0, {})]
CONFIG_IDS = [f"{p}-{t}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for p, t, o in CONFIGS]


def make_encoder(vocab, pooling, transformer_layers, seed=0, **options):
    torch.manual_seed(seed)  # test-local: the encoder's init draws from torch's global generator
    return GraphEncoder(len(vocab), hidden_dim=16, rgcn_layers=2, pooling=pooling,
                        transformer_layers=transformer_layers, heads=4, **options).eval()


def test_every_pooling_is_tested():
    assert {p for p, _, _ in CONFIGS} == set(POOLINGS)


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


@pytest.mark.parametrize("pooling,transformer_layers,options", CONFIGS, ids=CONFIG_IDS)
def test_mixed_batch_shapes_and_finite(pooling, transformer_layers, options):
    vocab = GraphVocab.build(GRAPHS + [TWO])
    enc = make_encoder(vocab, pooling, transformer_layers, **options)
    graphs = [EMPTY, SINGLE, MULTI, TWO, EMPTY, CHAIN]
    out = enc(encode_graphs(graphs, vocab))
    assert out.shape == (6, 16)
    assert torch.isfinite(out).all()
    # the empty graph gets the learned empty embedding, whatever else is in the batch
    assert torch.equal(out[0], enc.empty_embedding.detach()) and torch.equal(out[4], out[0])
    alone = enc(encode_graphs([EMPTY], vocab))
    assert torch.equal(alone[0], out[0])
    # a graph's embedding does not depend on its batch mates (nor on the padding smaller graphs get beside MULTI)
    for i, graph in enumerate(graphs):
        assert torch.allclose(enc(encode_graphs([graph], vocab))[0], out[i], atol=1e-5), graph["study_id"]
    assert torch.allclose(enc(encode_graphs([CHAIN, SINGLE], vocab)), out[[5, 1]], atol=1e-5)
    # different graphs give different embeddings
    assert not torch.allclose(out[1], out[2], atol=1e-3)
    assert not torch.allclose(out[3], out[5], atol=1e-3)


@pytest.mark.parametrize("pooling,transformer_layers,options", CONFIGS, ids=CONFIG_IDS)
def test_gradients_are_finite_with_empty_graphs(pooling, transformer_layers, options):
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, pooling, transformer_layers, **options).train()
    enc(encode_graphs([EMPTY, SINGLE, EMPTY, MULTI], vocab)).pow(2).sum().backward()
    for name, param in enc.named_parameters():
        assert param.grad is None or torch.isfinite(param.grad).all(), name
    assert enc.empty_embedding.grad.abs().sum() > 0
    assert enc.token_embedding.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("pooling,transformer_layers,options", CONFIGS, ids=CONFIG_IDS)
def test_invariant_to_node_order(pooling, transformer_layers, options):
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, pooling, transformer_layers, **options)
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
    ({"pooling": "dummy_readout", "transformer_layers": 2}, "has no transformer"),
    ({"pooling": "nodes", "transformer_layers": 0}, "needs transformer_layers >= 1"),
    ({"pooling": "reaction_node", "transformer_layers": 0}, "'reaction_node' was renamed 'dummy_readout'"),
    ({"pooling": "components", "virtual_nodes_when": "isolated_node"}, "applies to the layouts"),
    ({"pooling": "dummy_readout", "transformer_layers": 0, "virtual_nodes_when": "isolated_node"},
     "applies to the layouts"),
    ({"pooling": "dummy", "virtual_nodes_when": "sometimes"}, "virtual_nodes_when must be one of"),
    ({"pooling": "nodes", "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"pooling": "nodes", "fc_layers": -1}, "fc_layers must be >= 0"),
    ({"pooling": "dummy", "transformer_layers": 0, "ffn_dim": 64}, "ffn_dim and dropout size a transformer"),
    ({"hidden_dim": 10, "heads": 4}, "must be >= 1 and divide hidden_dim"),
    ({"rgcn_layers": 0}, "rgcn_layers must be >= 1"),
])
def test_rejects_bad_option_combinations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GraphEncoder(10, **kwargs)


def test_reset_parameters_reinitialises():
    vocab = GraphVocab.build(GRAPHS)
    enc = make_encoder(vocab, "dummy_readout", 0)
    assert enc.num_relations == 8 and "relations=8" in repr(enc)
    before = enc.virtual_init.detach().clone()
    torch.manual_seed(123)
    enc.reset_parameters()
    assert not torch.equal(before, enc.virtual_init)
    enc = make_encoder(vocab, "nodes", 1, fc_layers=1)
    names = ("head.0.weight", "head.0.bias", "transformer.layers.0.self_attn.in_proj_weight", "convs.0.weight")
    before = {name: dict(enc.named_parameters())[name].detach().clone() for name in names}
    torch.manual_seed(123)
    enc.reset_parameters()
    for name in names:
        assert not torch.equal(before[name], dict(enc.named_parameters())[name]), name


@pytest.mark.parametrize("pooling,relations", [("components", 6), ("rgcn_mean", 6), ("nodes", 6), ("dummy", 7),
                                               ("meta", 7), ("reaction", 7), ("dummy_readout", 8)])
def test_relation_counts(pooling, relations):
    layers = 1 if pooling in ("components", "nodes") else 0
    assert GraphEncoder(10, pooling=pooling, transformer_layers=layers).num_relations == relations


def test_the_authors_sizes_are_reachable():
    enc = GraphEncoder(10, hidden_dim=512, rgcn_layers=2, pooling="reaction", transformer_layers=1, heads=2,
                       ffn_dim=1024, dropout=0.1, fc_layers=1, virtual_nodes_when="isolated_node")
    layer = enc.transformer.layers[0]
    assert (layer.linear1.out_features, layer.self_attn.num_heads, layer.dropout.p) == (1024, 2, 0.1)
    assert not layer.norm_first  # post-norm, as the authors' TransLayer
    assert [type(m).__name__ for m in enc.head] == ["Linear", "ReLU"]
    assert "virtual_nodes_when='isolated_node'" in repr(enc)


def edges_of(virtual, lo, hi):
    """Virtual edges (one direction) whose endpoints lie in [lo, hi), as a set of pairs."""
    pairs = {tuple(e) for e in virtual.up.t().tolist()}
    return {p for p in pairs if lo <= p[0] < hi}


# graphs [EMPTY, SINGLE, CHAIN, TWO, MULTI]: 0, 1, 3, 4, 6 nodes (14 in all); components 0, 1, 1, 2 (3 + 1),
# 3 (3 + 2 + 1). Per layout and rule: the virtual nodes of each graph, and the virtual edges in one direction
# (the encoder adds each edge reversed too, so twice as many edges in all).
LAYOUT_COUNTS = {
    ("dummy", "always"): ([0, 1, 1, 1, 1], [0, 1, 3, 4, 6]),
    ("meta", "always"): ([0, 1, 1, 2, 3], [0, 1, 3, 4 + 1, 6 + 3]),
    ("reaction", "always"): ([0, 2, 2, 3, 4], [0, 1 + 1, 3 + 1, 4 + 2, 6 + 3]),
    ("dummy", "isolated_node"): ([0, 1, 0, 1, 1], [0, 1, 0, 4, 6]),
    ("meta", "isolated_node"): ([0, 0, 0, 2, 3], [0, 0, 0, 4 + 1, 6 + 3]),
    ("reaction", "isolated_node"): ([0, 0, 0, 3, 4], [0, 0, 0, 4 + 2, 6 + 3]),
}


@pytest.mark.parametrize("layout,when", sorted(LAYOUT_COUNTS))
def test_virtual_node_and_edge_counts(layout, when):
    vocab = GraphVocab.build(GRAPHS)
    graphs = [EMPTY, SINGLE, CHAIN, TWO, MULTI]
    batch = encode_graphs(graphs, vocab)
    virtual = virtual_nodes(batch, layout, when)
    n = batch.node_graph.numel()
    nodes_per_graph, edges_per_graph = LAYOUT_COUNTS[layout, when]
    assert torch.bincount(virtual.graph, minlength=5).tolist() == nodes_per_graph
    assert virtual.up.shape == (2, sum(edges_per_graph))
    # every virtual edge joins two nodes of the same graph, at least one of them virtual
    graph_of = torch.cat([batch.node_graph, virtual.graph])
    assert torch.equal(graph_of[virtual.up[0]], graph_of[virtual.up[1]])
    assert (virtual.up.max(dim=0).values >= n).all()
    assert torch.bincount(graph_of[virtual.up[0]], minlength=5).tolist() == edges_per_graph
    # no duplicate edge and no self-loop (the authors' meta transform joins each meta node to itself twice)
    assert len({tuple(e) for e in virtual.up.t().tolist()}) == virtual.up.shape[1]
    assert (virtual.up[0] != virtual.up[1]).all()


def test_layouts_join_the_right_nodes():
    """TWO (nodes 0-3: the chain 0-1-2 and the isolated node 3) alone: the exact virtual edges of each layout."""
    vocab = GraphVocab.build([TWO])
    batch = encode_graphs([TWO], vocab)
    dummy = virtual_nodes(batch, "dummy")
    assert dummy.graph.tolist() == [0] and edges_of(dummy, 0, 99) == {(0, 4), (1, 4), (2, 4), (3, 4)}
    meta = virtual_nodes(batch, "meta")  # node 4: the chain's meta node, 5: the isolated node's
    assert meta.graph.tolist() == [0, 0]
    assert edges_of(meta, 0, 99) == {(0, 4), (1, 4), (2, 4), (3, 5), (4, 5)}
    reaction = virtual_nodes(batch, "reaction")  # 4, 5 as in meta; 6: the reaction node
    assert reaction.graph.tolist() == [0, 0, 0]
    assert edges_of(reaction, 0, 99) == {(0, 4), (1, 4), (2, 4), (3, 5), (4, 6), (5, 6)}
    with pytest.raises(ValueError, match="unknown virtual-node layout"):
        virtual_nodes(batch, "star")


def test_layout_without_virtual_nodes_reads_out_like_nodes():
    """With isolated_node, a graph without an isolated node gets no virtual node: the layout's mean is the mean
    over its real nodes only, as the plain node-token encoder's (same weights)."""
    vocab = GraphVocab.build([CHAIN])
    meta = make_encoder(vocab, "meta", 1, virtual_nodes_when="isolated_node")
    nodes = make_encoder(vocab, "nodes", 1)
    state = meta.state_dict()
    for key, value in nodes.state_dict().items():
        if key.endswith("weight") and key.startswith("convs.") and value.dim() == 3:
            state[key] = torch.cat([value, state[key][value.shape[0]:]])  # the relations the chain uses
        elif key in state and state[key].shape == value.shape:
            state[key] = value
    meta.load_state_dict(state)
    batch = encode_graphs([CHAIN], vocab)
    assert torch.allclose(meta(batch), nodes(batch), atol=1e-6)
    always = make_encoder(vocab, "meta", 1)
    always.load_state_dict(state)
    assert not torch.allclose(always(batch), nodes(batch), atol=1e-4)


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
