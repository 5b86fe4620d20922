"""The IGCL graph encoder: R-GCN over a report's entity graph, pooled per connected component, then
self-attention across component tokens with a learned graph token.

Update rules (``H`` = ``hidden_dim``; shapes for a :class:`~igcl.models.graph_vocab.GraphBatch` of ``G`` graphs,
``N`` nodes, ``C`` components):

1. Node features ``h0_i = E_label[label_i] + mean_{t in tokens(i)} E_tok[t]``  ([N, H]; ``nn.EmbeddingBag``).
2. ``L`` R-GCN layers (PyG ``RGCNConv``, mean aggregation per relation; 6 edge types: modify, located_at,
   suggestive_of and their inverses), each with a residual and LayerNorm:
   ``h^{l+1}_i = LN(h^l_i + ReLU(W_0 h^l_i + sum_r mean_{j in N_r(i)} W_r h^l_j))``.
3. Pooling, by ``pooling``:

   - ``"components"`` (IGCL): ``c_k = mean_{i in component k} h^L_i`` ([C, H]); per graph, the sequence
     ``[g, c_1 .. c_K]`` (``g`` a learned graph token, padding masked, no positional encoding, so the result does
     not depend on node or component order) goes through ``transformer_layers`` pre-norm transformer encoder
     layers; the graph embedding is the output at ``g`` ([G, H]). Disconnected findings stay separate tokens
     instead of being averaged away, which is the point of the paper.
   - ``"rgcn_mean"`` (ablation): mean of ``h^L`` over all nodes of the graph; no transformer.
   - ``"reaction_node"`` (the authors' variant): one extra virtual node per graph, initialised to a learned
     vector and joined to every node of its graph by two extra edge types (node -> virtual, virtual -> node), so
     the R-GCN has 8 relations; the graph embedding is the virtual node's final state. No transformer.

4. Graphs without nodes get a learned embedding ``e_empty`` ([H]) in every mode.

Memory: ``RGCNConv`` keeps one ``H x H`` weight per relation (``num_bases`` shares them through a basis
decomposition); the transformer's attention is ``O(G * K_max^2)`` with ``K_max`` the largest component count.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import RGCNConv
from torch_geometric.utils import scatter, to_dense_batch

from igcl.models.graph_vocab import EDGE_TYPES, GraphBatch
from igcl.models.poolings import POOLINGS
from igcl.shards.schema import ENTITY_LABELS


class GraphEncoder(nn.Module):
    """Encode a :class:`GraphBatch` of ``G`` graphs to features ``[G, hidden_dim]`` (see the module docstring).

    Args:
        vocab_size: size of the entity-token vocabulary (``len(GraphVocab)``).
        hidden_dim: node, component and graph feature size ``H`` (= ``feature_dim``).
        rgcn_layers: number of R-GCN layers (>= 1).
        pooling: ``"components"``, ``"rgcn_mean"`` or ``"reaction_node"``.
        transformer_layers: layers of self-attention across component tokens; must be >= 1 with
            ``"components"`` and 0 with the other poolings (which have no transformer).
        heads: attention heads; must divide ``hidden_dim``.
        num_bases: basis decomposition of the R-GCN weights (None: one full matrix per relation).
    """

    def __init__(self, vocab_size: int, *, hidden_dim: int = 128, rgcn_layers: int = 2, pooling: str = "components",
                 transformer_layers: int = 1, heads: int = 4, num_bases: int | None = None):
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if hidden_dim < 1 or rgcn_layers < 1:
            raise ValueError(f"hidden_dim and rgcn_layers must be >= 1, got {hidden_dim}, {rgcn_layers}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if pooling == "components":
            if transformer_layers < 1:
                raise ValueError("pooling 'components' needs transformer_layers >= 1")
            if heads < 1 or hidden_dim % heads:
                raise ValueError(f"heads ({heads}) must be >= 1 and divide hidden_dim ({hidden_dim})")
        elif transformer_layers != 0:
            raise ValueError(f"pooling {pooling!r} has no transformer: set transformer_layers to 0 "
                             f"(got {transformer_layers})")
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.feature_dim = hidden_dim
        self.pooling = pooling
        self.transformer_layers = transformer_layers
        self.heads = heads
        self.num_relations = len(EDGE_TYPES) + (2 if pooling == "reaction_node" else 0)

        self.label_embedding = nn.Embedding(len(ENTITY_LABELS), hidden_dim)
        self.token_embedding = nn.EmbeddingBag(vocab_size, hidden_dim, mode="mean")
        self.convs = nn.ModuleList(RGCNConv(hidden_dim, hidden_dim, self.num_relations, num_bases=num_bases)
                                   for _ in range(rgcn_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(rgcn_layers))
        self.empty_embedding = nn.Parameter(torch.empty(hidden_dim))
        if pooling == "components":
            layer = nn.TransformerEncoderLayer(hidden_dim, heads, dim_feedforward=2 * hidden_dim, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, transformer_layers, enable_nested_tensor=False)
            self.graph_token = nn.Parameter(torch.empty(hidden_dim))
            self.out_norm = nn.LayerNorm(hidden_dim)
        elif pooling == "reaction_node":
            self.reaction_init = nn.Parameter(torch.empty(hidden_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.label_embedding.weight, std=0.1)
        nn.init.normal_(self.token_embedding.weight, std=0.1)
        for conv, norm in zip(self.convs, self.norms):
            conv.reset_parameters()
            norm.reset_parameters()
        nn.init.normal_(self.empty_embedding, std=0.1)
        if self.pooling == "components":
            for layer in self.transformer.layers:
                for module in layer.modules():
                    if isinstance(module, nn.Linear):
                        nn.init.xavier_uniform_(module.weight)
                        nn.init.zeros_(module.bias)
                    elif isinstance(module, nn.LayerNorm):
                        module.reset_parameters()
                    elif isinstance(module, nn.MultiheadAttention):
                        module._reset_parameters()
            nn.init.normal_(self.graph_token, std=0.1)
            self.out_norm.reset_parameters()
        elif self.pooling == "reaction_node":
            nn.init.normal_(self.reaction_init, std=0.1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(vocab={self.vocab_size}, hidden={self.hidden_dim}, "
                f"rgcn_layers={len(self.convs)}, relations={self.num_relations}, pooling={self.pooling!r}, "
                f"transformer_layers={self.transformer_layers}, heads={self.heads})")

    def node_features(self, batch: GraphBatch) -> torch.Tensor:
        """``h0`` [N, H]."""
        return self.label_embedding(batch.node_labels) + self.token_embedding(batch.token_ids, batch.token_offsets)

    def _rgcn(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = norm(x + torch.relu(conv(x, edge_index, edge_type)))
        return x

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        """Graph features [G, H]."""
        num_graphs = batch.num_graphs
        x = self.node_features(batch)
        if self.pooling == "reaction_node":
            out = self._reaction_forward(x, batch)
        else:
            x = self._rgcn(x, batch.edge_index, batch.edge_type)
            if self.pooling == "rgcn_mean":
                out = scatter(x, batch.node_graph, dim=0, dim_size=num_graphs, reduce="mean")
            else:
                out = self._component_forward(x, batch)
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

    def _reaction_forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        n, g = x.shape[0], batch.num_graphs
        virtual = n + torch.arange(g, device=x.device)
        nodes = torch.arange(n, device=x.device)
        to_virtual = torch.stack([nodes, virtual[batch.node_graph]])
        n_types = len(EDGE_TYPES)
        edge_index = torch.cat([batch.edge_index, to_virtual, to_virtual.flip(0)], dim=1)
        edge_type = torch.cat([batch.edge_type, torch.full((n,), n_types, device=x.device, dtype=torch.long),
                               torch.full((n,), n_types + 1, device=x.device, dtype=torch.long)])
        x = torch.cat([x, self.reaction_init.to(x.dtype).expand(g, -1)], dim=0)
        return self._rgcn(x, edge_index, edge_type)[n:]
