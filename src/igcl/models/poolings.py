"""The graph encoder's pooling variants: a registry of what each one is built from (see
:mod:`igcl.models.graph_encoder` for each update rule).

A module of its own, free of torch, so that the config check (:class:`igcl.train.config.GraphSettings`, which
the workflow runs when it reads config.yaml) can name the valid values and their option rules without loading the
model code. The encoder and the config check both read an entry's fields; neither switches on a variant's name.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a transformer attends over: per-component mean tokens plus a learned graph token (igcl), or the node tokens
# (virtual nodes included) as in the authors' DRACON encoder.
COMPONENT_TOKENS = "components"
NODE_TOKENS = "nodes"
# Virtual-node layouts of the authors' graph transforms (rajpurkarlab/IGCL, AddDummyNode / AddMetaNodes /
# AddReactionNodes): one node joined to every node; one node per connected component, joined to each other; one node
# per component plus a reaction node joined to those.
LAYOUTS = ("dummy", "meta", "reaction")
# When the layouts add their virtual nodes: to every graph with nodes, or (the authors' transforms) only to graphs
# with an isolated node (and, for meta / reaction, more than one component).
VIRTUAL_NODES_WHEN = ("always", "isolated_node")


@dataclass(frozen=True)
class Pooling:
    """One graph-encoder variant.

    ``tokens``: what its transformer attends over (``COMPONENT_TOKENS``, ``NODE_TOKENS``) or None (no transformer).
    ``min_transformer_layers`` / ``max_transformer_layers``: the allowed ``transformer_layers`` (max None: no bound).
    ``layout``: the virtual-node layout added before the R-GCN (one of ``LAYOUTS``) or None.
    ``virtual_readout``: the graph embedding is the single virtual node's final state (no transformer).
    """

    name: str
    tokens: str | None
    min_transformer_layers: int
    max_transformer_layers: int | None
    layout: str | None = None
    virtual_readout: bool = False


_ENTRIES = (
    Pooling("components", COMPONENT_TOKENS, 1, None),
    Pooling("rgcn_mean", None, 0, 0),
    Pooling("nodes", NODE_TOKENS, 1, None),
    Pooling("dummy", NODE_TOKENS, 0, None, layout="dummy"),
    Pooling("meta", NODE_TOKENS, 0, None, layout="meta"),
    Pooling("reaction", NODE_TOKENS, 0, None, layout="reaction"),
    Pooling("dummy_readout", None, 0, 0, layout="dummy", virtual_readout=True),
)
REGISTRY: dict[str, Pooling] = {entry.name: entry for entry in _ENTRIES}
POOLINGS = tuple(REGISTRY)
# Names that are gone, and what they are called now: igcl's old "reaction_node" was the dummy layout read out at its
# virtual node, not the authors' reaction layout.
RENAMED = {"reaction_node": "dummy_readout"}


def get_pooling(name: str, *, where: str = "pooling") -> Pooling:
    """The registry entry of ``name``; ValueError naming the new name for a renamed one, or the valid names."""
    if name in RENAMED:
        raise ValueError(f"{where} {name!r} was renamed {RENAMED[name]!r} (it is the dummy layout read out at its "
                         f"virtual node; the authors' reaction layout is 'reaction')")
    if name not in REGISTRY:
        raise ValueError(f"{where} must be one of {POOLINGS}, got {name!r}")
    return REGISTRY[name]


def check_graph_options(pooling: str, *, transformer_layers: int, hidden_dim: int, heads: int, fc_layers: int,
                        ffn_dim: int | None, dropout: float, virtual_nodes_when: str,
                        where: str = "") -> Pooling:
    """Check one combination of graph-encoder options (the encoder and the config check share it); return the entry.

    ``where`` prefixes each option's name in the messages (``"pretrain.graph."`` for the config check).
    """
    entry = get_pooling(pooling, where=f"{where}pooling")
    low, high = entry.min_transformer_layers, entry.max_transformer_layers
    if high == 0 and transformer_layers != 0:
        raise ValueError(f"{where}transformer_layers must be 0 with pooling {pooling!r} (it has no transformer), "
                         f"got {transformer_layers}")
    if transformer_layers < low:
        raise ValueError(f"pooling {pooling!r} needs {where}transformer_layers >= {low}, got {transformer_layers}")
    if transformer_layers and (heads < 1 or hidden_dim % heads):
        raise ValueError(f"{where}heads ({heads}) must be >= 1 and divide hidden_dim ({hidden_dim})")
    if fc_layers < 0:
        raise ValueError(f"{where}fc_layers must be >= 0, got {fc_layers}")
    if ffn_dim is not None and ffn_dim < 1:
        raise ValueError(f"{where}ffn_dim must be >= 1 or null, got {ffn_dim}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}dropout must be in [0, 1), got {dropout}")
    if transformer_layers == 0 and (ffn_dim is not None or dropout):
        raise ValueError(f"{where}ffn_dim and dropout size a transformer; pooling {pooling!r} with "
                         f"transformer_layers 0 has none (leave them null and 0)")
    if virtual_nodes_when not in VIRTUAL_NODES_WHEN:
        raise ValueError(f"{where}virtual_nodes_when must be one of {VIRTUAL_NODES_WHEN}, got {virtual_nodes_when!r}")
    if virtual_nodes_when != "always" and (entry.layout is None or entry.virtual_readout):
        raise ValueError(f"{where}virtual_nodes_when {virtual_nodes_when!r} applies to the layouts "
                         f"{LAYOUTS} only, not to pooling {pooling!r}")
    return entry
