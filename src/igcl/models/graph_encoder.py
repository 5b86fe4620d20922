"""The IGCL graph encoder: R-GCN over a report's entity graph, then one of several poolings (the variants of
:mod:`igcl.models.poolings`): igcl's attention across connected components, or the authors' DRACON-style encoder
(transformer over node tokens, optionally with virtual nodes added to each graph).

Update rules (``H`` = ``hidden_dim``; shapes for a :class:`~igcl.models.graph_vocab.GraphBatch` of ``G`` graphs,
``N`` nodes, ``C`` components; ``V`` virtual nodes where a layout adds them):

1. Node features ``h0_i = E_label[label_i] + mean_{t in tokens(i)} E_tok[t]``  ([N, H]; ``nn.EmbeddingBag``),
   or with ``node_features="text_model"`` ``h0_i = W [v_i ; onehot(label_i)] + b``: ``v_i`` the node's frozen
   text-model vector ([N, D], the node_features stage), the one-hot label appended as the IGCL authors do.
   Virtual nodes start at ``h0 = 0`` (the authors' transforms add zero feature rows), except ``dummy_readout``'s,
   which start at a learned vector.
2. ``L`` R-GCN layers (PyG ``RGCNConv``, mean aggregation per relation; 6 edge types: modify, located_at,
   suggestive_of and their inverses, plus the virtual relations below), each with a residual and LayerNorm:
   ``h^{l+1}_i = LN(h^l_i + ReLU(W_0 h^l_i + sum_r mean_{j in N_r(i)} W_r h^l_j))``.
3. Pooling, by ``pooling``:

   - ``"components"`` (igcl, the default): ``c_k = mean_{i in component k} h^L_i`` ([C, H]); per graph, the
     sequence ``[g, c_1 .. c_K]`` (``g`` a learned graph token, padding masked, no positional encoding) goes
     through ``transformer_layers`` pre-norm transformer encoder layers; the graph embedding is
     ``LN(output at g)`` ([G, H]). Disconnected findings stay separate tokens instead of being averaged away.
     Our reading of the paper; the authors' code attends over node tokens (``"nodes"``).
   - ``"rgcn_mean"`` (ablation): ``mean_i h^L_i`` over the graph's nodes; no transformer.
   - ``"nodes"`` (the authors' DRACON encoder): per graph, the node tokens ``[h^L_1 .. h^L_n]`` (padding masked,
     no positional encoding) go through ``transformer_layers`` post-norm transformer encoder layers
     (``z = LN(z + Attn(z)); z = LN(z + W_2 ReLU(W_1 z))``; the authors: 1 layer, width 512, 2 heads, FFN 1024,
     dropout 0.1); the graph embedding is the mean of the outputs over the graph's nodes.
   - ``"dummy"``: ``"nodes"`` on the graph plus one virtual node joined to every node (both directions).
   - ``"meta"``: ``"nodes"`` on the graph plus one virtual node per connected component, joined to every node of
     its component, and the virtual nodes joined to each other (every pair, both directions).
   - ``"reaction"``: ``"nodes"`` on the graph plus one virtual node per component, joined to its component's nodes,
     and one reaction node joined to every per-component node.
     In these three layouts the graph embedding is the mean over *all* nodes, virtual ones included, as the
     authors' ``global_mean_pool`` over the transformed graph does; every virtual edge, in both directions and
     between virtual nodes too, has one extra relation type (the authors' extra one-hot edge column), so the R-GCN
     has 7 relations. With ``transformer_layers = 0`` the mean is taken straight after the R-GCN.
     ``virtual_nodes_when = "isolated_node"`` adds the virtual nodes only where the authors' transforms do: to a
     graph with an isolated node (dummy) and, for meta / reaction, more than one component; other graphs are
     encoded as by ``"nodes"``. The default, ``"always"``, adds them to every graph with nodes.
   - ``"dummy_readout"`` (igcl's former ``reaction_node``): the dummy layout with a learned initial state and two
     virtual relations (node -> virtual, virtual -> node; 8 relations); the graph embedding is the virtual node's
     final state. No transformer.

4. ``fc_layers`` times ``z <- ReLU(W z + b)`` on the pooled embedding (the authors' FCN head; default 0).
5. Graphs without nodes get a learned embedding ``e_empty`` ([H]) in every mode, and no virtual nodes.

Deviations from the authors' code (rajpurkarlab/IGCL ``src/training/dracon.py`` and the ``add_*_node``
transforms), each on purpose: the R-GCN has residuals, LayerNorm and inverse relations (theirs: plain ReLU layers,
3 relations); the transformer masks padding (theirs attends to the zero padding of a dense batch, so a graph's
embedding depends on its batch-mates); meta nodes get no self-loops (their inclusive pair loop joins each meta node
to itself twice, which ``W_0`` already covers).

Memory: ``RGCNConv`` keeps one ``H x H`` weight per relation (``num_bases`` shares them through a basis
decomposition); attention is ``O(G * K_max^2)`` with ``K_max`` the largest component count (``components``) or
the largest node count, virtual nodes included (``nodes`` and the layouts); ``meta`` adds ``K (K - 1)`` edges per
graph of ``K`` components.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import RGCNConv
from torch_geometric.utils import scatter, to_dense_batch

from igcl.models.graph_vocab import EDGE_TYPES, GraphBatch
from igcl.models.poolings import COMPONENT_TOKENS, NODE_TOKENS, check_graph_options
from igcl.contracts.schema import ENTITY_LABELS

NODE_FEATURES = ("learned", "text_model")


@dataclass
class VirtualNodes:
    """Virtual nodes added to a :class:`GraphBatch` of ``N`` nodes: node ``N + v`` is virtual node ``v``.

    - ``graph`` [V] long: graph of each virtual node (per layout block, sorted)
    - ``up`` [2, E_up] long: one direction of every virtual edge (towards the virtual node that joins the pair;
      between two meta nodes, from the lower to the higher index); the encoder adds ``up.flip(0)`` as well.
    """

    graph: torch.Tensor
    up: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return self.graph.numel()


def virtual_nodes(batch: GraphBatch, layout: str, when: str = "always") -> VirtualNodes:
    """The virtual nodes and edges ``layout`` (``"dummy"``, ``"meta"``, ``"reaction"``) adds to ``batch``.

    ``when = "always"``: to every graph with nodes; ``"isolated_node"``: only to graphs with a node of no edge
    (a component of one node) and, for meta / reaction, more than one component (the authors' transforms).
    """
    n, g, c = batch.node_graph.numel(), batch.num_graphs, batch.component_graph.numel()
    device = batch.node_graph.device
    nodes = torch.arange(n, device=device)
    if when == "always":
        eligible = torch.bincount(batch.node_graph, minlength=g) > 0
    elif when == "isolated_node":
        component_size = torch.bincount(batch.node_component, minlength=c)
        eligible = torch.bincount(batch.component_graph[component_size == 1], minlength=g) > 0
        if layout != "dummy":
            eligible &= torch.bincount(batch.component_graph, minlength=g) > 1
    else:
        raise ValueError(f"virtual_nodes_when must be 'always' or 'isolated_node', got {when!r}")
    if layout == "dummy":
        graphs = eligible.nonzero().squeeze(1)
        index = torch.full((g,), -1, dtype=torch.long, device=device)
        index[graphs] = n + torch.arange(graphs.numel(), device=device)
        keep = eligible[batch.node_graph]
        return VirtualNodes(graphs, torch.stack([nodes[keep], index[batch.node_graph[keep]]]))
    if layout not in ("meta", "reaction"):
        raise ValueError(f"unknown virtual-node layout {layout!r}")
    components = eligible[batch.component_graph].nonzero().squeeze(1)
    m = components.numel()
    meta_index = torch.full((c,), -1, dtype=torch.long, device=device)
    meta_index[components] = n + torch.arange(m, device=device)
    meta_graph = batch.component_graph[components]
    keep = eligible[batch.node_graph]
    to_meta = torch.stack([nodes[keep], meta_index[batch.node_component[keep]]])
    if layout == "meta":
        dense, mask = to_dense_batch(meta_index[components].unsqueeze(1), meta_graph, batch_size=g)  # [G, K, 1]
        dense, k = dense.squeeze(2), dense.shape[1]
        pair = mask.unsqueeze(2) & mask.unsqueeze(1) & torch.ones(k, k, dtype=torch.bool, device=device).triu(1)
        low = dense.unsqueeze(2).expand(-1, -1, k)[pair]
        high = dense.unsqueeze(1).expand(-1, k, -1)[pair]
        return VirtualNodes(meta_graph, torch.cat([to_meta, torch.stack([low, high])], dim=1))
    graphs = eligible.nonzero().squeeze(1)
    reaction_index = torch.full((g,), -1, dtype=torch.long, device=device)
    reaction_index[graphs] = n + m + torch.arange(graphs.numel(), device=device)
    to_reaction = torch.stack([meta_index[components], reaction_index[meta_graph]])
    return VirtualNodes(torch.cat([meta_graph, graphs]), torch.cat([to_meta, to_reaction], dim=1))


def _reset_transformer(transformer: nn.TransformerEncoder) -> None:
    for layer in transformer.layers:
        for module in layer.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
            elif isinstance(module, nn.MultiheadAttention):
                module._reset_parameters()


class GraphEncoder(nn.Module):
    """Encode a :class:`GraphBatch` of ``G`` graphs to features ``[G, hidden_dim]`` (see the module docstring).

    Args:
        vocab_size: size of the entity-token vocabulary (``len(GraphVocab)``).
        hidden_dim: node, component and graph feature size ``H`` (= ``feature_dim``).
        rgcn_layers: number of R-GCN layers (>= 1).
        pooling: a name in :data:`igcl.models.poolings.POOLINGS`.
        transformer_layers: transformer encoder layers; >= 1 with ``"components"`` and ``"nodes"``, >= 0 with the
            layouts ``"dummy"`` / ``"meta"`` / ``"reaction"``, 0 with ``"rgcn_mean"`` and ``"dummy_readout"``.
        heads: attention heads; must divide ``hidden_dim``.
        num_bases: basis decomposition of the R-GCN weights (None: one full matrix per relation).
        ffn_dim: the transformer's feed-forward width (None: ``2 * hidden_dim``).
        dropout: the transformer's dropout (attention weights, residual branches, feed-forward).
        fc_layers: Linear + ReLU layers after pooling (the authors': 1).
        virtual_nodes_when: ``"always"`` or ``"isolated_node"`` (layouts only; see :func:`virtual_nodes`).
        node_features: ``"learned"`` (label embedding + mean token embedding of the entity text) or
            ``"text_model"`` (a linear projection of ``[v_i ; onehot(label_i)]``, ``v_i`` the node's
            ``node_feature_dim``-d vector from the node_features stage, ``GraphBatch.node_vectors``).
        node_feature_dim: ``D`` of those vectors (``text_model`` only).
    """

    def __init__(self, vocab_size: int, *, hidden_dim: int = 128, rgcn_layers: int = 2, pooling: str = "components",
                 transformer_layers: int = 1, heads: int = 4, num_bases: int | None = None,
                 ffn_dim: int | None = None, dropout: float = 0.0, fc_layers: int = 0,
                 virtual_nodes_when: str = "always", node_features: str = "learned",
                 node_feature_dim: int | None = None):
        super().__init__()
        if node_features not in NODE_FEATURES:
            raise ValueError(f"node_features must be one of {NODE_FEATURES}, got {node_features!r}")
        if (node_feature_dim is not None) != (node_features == "text_model"):
            raise ValueError("node_feature_dim is set with node_features 'text_model' and only then")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if hidden_dim < 1 or rgcn_layers < 1:
            raise ValueError(f"hidden_dim and rgcn_layers must be >= 1, got {hidden_dim}, {rgcn_layers}")
        self.entry = check_graph_options(pooling, transformer_layers=transformer_layers, hidden_dim=hidden_dim,
                                         heads=heads, fc_layers=fc_layers, ffn_dim=ffn_dim, dropout=dropout,
                                         virtual_nodes_when=virtual_nodes_when)
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.feature_dim = hidden_dim
        self.pooling = pooling
        self.transformer_layers = transformer_layers
        self.heads = heads
        self.virtual_nodes_when = virtual_nodes_when
        virtual_relations = 2 if self.entry.virtual_readout else 1 if self.entry.layout else 0
        self.num_relations = len(EDGE_TYPES) + virtual_relations

        self.node_feature_mode = node_features
        if node_features == "text_model":
            # the authors' node input: the text model's vector with a one-hot entity label appended
            self.input_projection = nn.Linear(node_feature_dim + len(ENTITY_LABELS), hidden_dim)
        else:
            self.label_embedding = nn.Embedding(len(ENTITY_LABELS), hidden_dim)
            self.token_embedding = nn.EmbeddingBag(vocab_size, hidden_dim, mode="mean")
        self.convs = nn.ModuleList(RGCNConv(hidden_dim, hidden_dim, self.num_relations, num_bases=num_bases)
                                   for _ in range(rgcn_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(rgcn_layers))
        self.empty_embedding = nn.Parameter(torch.empty(hidden_dim))
        self.transformer: nn.TransformerEncoder | None = None
        ffn = 2 * hidden_dim if ffn_dim is None else ffn_dim
        if self.entry.tokens == COMPONENT_TOKENS:
            layer = nn.TransformerEncoderLayer(hidden_dim, heads, dim_feedforward=ffn, dropout=dropout,
                                               batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, transformer_layers, enable_nested_tensor=False)
            self.graph_token = nn.Parameter(torch.empty(hidden_dim))
            self.out_norm = nn.LayerNorm(hidden_dim)
        elif self.entry.tokens == NODE_TOKENS and transformer_layers:
            layer = nn.TransformerEncoderLayer(hidden_dim, heads, dim_feedforward=ffn, dropout=dropout,
                                               batch_first=True, norm_first=False)  # post-norm, as the authors'
            self.transformer = nn.TransformerEncoder(layer, transformer_layers, enable_nested_tensor=False)
        if self.entry.virtual_readout:
            self.virtual_init = nn.Parameter(torch.empty(hidden_dim))
        self.head = nn.Sequential(*(module for _ in range(fc_layers)
                                    for module in (nn.Linear(hidden_dim, hidden_dim), nn.ReLU())))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.node_feature_mode == "text_model":
            self.input_projection.reset_parameters()
        else:
            nn.init.normal_(self.label_embedding.weight, std=0.1)
            nn.init.normal_(self.token_embedding.weight, std=0.1)
        for conv, norm in zip(self.convs, self.norms):
            conv.reset_parameters()
            norm.reset_parameters()
        nn.init.normal_(self.empty_embedding, std=0.1)
        if self.transformer is not None:
            _reset_transformer(self.transformer)
        if self.entry.tokens == COMPONENT_TOKENS:
            nn.init.normal_(self.graph_token, std=0.1)
            self.out_norm.reset_parameters()
        if self.entry.virtual_readout:
            nn.init.normal_(self.virtual_init, std=0.1)
        for module in self.head:
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(vocab={self.vocab_size}, hidden={self.hidden_dim}, "
                f"rgcn_layers={len(self.convs)}, relations={self.num_relations}, pooling={self.pooling!r}, "
                f"transformer_layers={self.transformer_layers}, heads={self.heads}, fc_layers={len(self.head) // 2}"
                + (f", virtual_nodes_when={self.virtual_nodes_when!r}" if self.entry.layout else "") + ")")

    def node_features(self, batch: GraphBatch) -> torch.Tensor:
        """``h0`` [N, H]: label + token-bag embeddings, or (``text_model``) ``W [v_i ; onehot(label_i)] + b``."""
        if self.node_feature_mode == "text_model":
            if batch.node_vectors is None:
                raise ValueError("this graph encoder reads text-model node vectors (node_features 'text_model'); "
                                 "the batch has none (encode_graphs(..., node_vectors=True))")
            weight = self.input_projection.weight
            labels = F.one_hot(batch.node_labels, len(ENTITY_LABELS)).to(weight.dtype)
            return self.input_projection(torch.cat([batch.node_vectors.to(weight.dtype), labels], dim=1))
        return self.label_embedding(batch.node_labels) + self.token_embedding(batch.token_ids, batch.token_offsets)

    def _rgcn(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = norm(x + torch.relu(conv(x, edge_index, edge_type)))
        return x

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        """Graph features [G, H]."""
        num_graphs = batch.num_graphs
        x = self.node_features(batch)
        edge_index, edge_type, node_graph = batch.edge_index, batch.edge_type, batch.node_graph
        n = x.shape[0]
        if self.entry.layout is not None:
            virtual = virtual_nodes(batch, self.entry.layout, self.virtual_nodes_when)
            up_type = len(EDGE_TYPES)
            down_type = up_type + 1 if self.entry.virtual_readout else up_type
            e = virtual.up.shape[1]
            init = (self.virtual_init.to(x.dtype).expand(virtual.num_nodes, -1) if self.entry.virtual_readout
                    else x.new_zeros(virtual.num_nodes, self.hidden_dim))
            x = torch.cat([x, init], dim=0)
            edge_index = torch.cat([edge_index, virtual.up, virtual.up.flip(0)], dim=1)
            edge_type = torch.cat([edge_type, edge_type.new_full((e,), up_type), edge_type.new_full((e,), down_type)])
            node_graph = torch.cat([node_graph, virtual.graph])
        x = self._rgcn(x, edge_index, edge_type)
        if self.entry.virtual_readout:
            out = x.new_zeros(num_graphs, self.hidden_dim).index_copy(0, virtual.graph, x[n:])
        elif self.entry.tokens == COMPONENT_TOKENS:
            out = self._component_forward(x, batch)
        elif self.transformer is not None:
            out = self._node_forward(x, node_graph, num_graphs)
        else:
            out = scatter(x, node_graph, dim=0, dim_size=num_graphs, reduce="mean")
        out = self.head(out)
        counts = torch.bincount(batch.node_graph, minlength=num_graphs)
        empty = (counts == 0).unsqueeze(1)
        return torch.where(empty, self.empty_embedding.to(out.dtype).expand_as(out), out)

    def _component_forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        num_components = batch.component_graph.numel()
        components = scatter(x, batch.node_component, dim=0, dim_size=num_components, reduce="mean")
        dense, mask = to_dense_batch(components, batch.component_graph, batch_size=batch.num_graphs)  # [G, K, H]
        token = self.graph_token.to(dense.dtype).expand(batch.num_graphs, 1, -1)
        seq = torch.cat([token, dense], dim=1)
        padding = torch.cat([torch.zeros(batch.num_graphs, 1, dtype=torch.bool, device=mask.device), ~mask],
                            dim=1)  # True = ignore
        return self.out_norm(self.transformer(seq, src_key_padding_mask=padding)[:, 0])

    def _node_forward(self, x: torch.Tensor, node_graph: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """Transformer over each graph's node tokens (virtual ones included), then their mean: [G, H]."""
        if x.shape[0] == 0:
            return x.new_zeros(num_graphs, self.hidden_dim)
        order = torch.argsort(node_graph, stable=True)  # virtual nodes were appended after all real ones
        dense, mask = to_dense_batch(x[order], node_graph[order], batch_size=num_graphs)  # [G, L, H]
        # A graph without nodes attends to one zero padding token (its output is replaced by e_empty): a row with
        # every key masked would give NaN attention, and NaN gradients through torch.where.
        attend = mask.clone()
        attend[:, 0] |= ~mask.any(dim=1)
        z = self.transformer(dense, src_key_padding_mask=~attend)
        weight = mask.unsqueeze(2).to(z.dtype)
        return (z * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)
