"""The dual encoder every method trains: an image branch and (for igcl / convirt) a report branch, each followed by
an MLP projection into one shared, L2-normalised embedding space.

==============  ==================================  ===========================================================
method          report branch (``other``)           trained with
==============  ==================================  ===========================================================
``igcl``        :class:`GraphEncoder` on graphs     InfoNCE(image, graph)
``convirt``     :class:`TextEncoder` on report text InfoNCE(image, text)
``image_only``  none (a second augmented view)      InfoNCE(view 1, view 2), SimCLR-style
``random``      none                                nothing: the seeded, untrained image encoder (the floor)
``pixels``      none                                nothing learned: :class:`PixelPCA` of the stored pixels
==============  ==================================  ===========================================================

The methods and what sets them apart live in :mod:`igcl.methods`; this module asks the registry, never the name.

:class:`ModelSpec` is the architecture as plain data; it is saved in the checkpoint's ``config.json`` and is all
:func:`build_model` needs to rebuild the module the weights belong to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from igcl.models.graph_encoder import GraphEncoder
from igcl.models.graph_vocab import GraphBatch
from igcl.methods import GRAPHS, TEXT, VIEW, get_method
from igcl.models.image import create_image_encoder, image_feature_dim
from igcl.models.pixels import PixelPCA
from igcl.models.text_encoder import TextEncoder


@dataclass(frozen=True)
class GraphSpec:
    vocab_size: int
    hidden_dim: int = 128
    rgcn_layers: int = 2
    pooling: str = "components"
    transformer_layers: int = 1
    heads: int = 4
    num_bases: int | None = None
    ffn_dim: int | None = None
    dropout: float = 0.0
    fc_layers: int = 0
    virtual_nodes_when: str = "always"
    node_features: str = "learned"          # learned | text_model (node vectors from the node_features stage)
    node_feature_dim: int | None = None     # text_model: D of those vectors

    @classmethod
    def from_settings(cls, settings: Any, **data: Any) -> GraphSpec:
        """The spec of ``settings`` (``pretrain.graph``: every field of the spec that the settings name, by name,
        so no field is copied by hand) plus the sizes that come from data (``vocab_size``, ``node_feature_dim``)."""
        names = {f.name for f in dataclasses.fields(cls)} - set(data)
        return cls(**{name: getattr(settings, name) for name in names if hasattr(settings, name)}, **data)

    def encoder_kwargs(self) -> dict[str, Any]:
        """The :class:`~igcl.models.graph_encoder.GraphEncoder` arguments: the spec's fields, one to one."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TextSpec:
    vocab_size: int
    dim: int = 128
    layers: int = 2
    heads: int = 4
    max_tokens: int = 128
    # a local Hugging Face model's config (igcl.models.hf_text.model_config_dict): the text encoder is that
    # architecture (vocab_size is its tokenizer's; dim/layers/heads unused) instead of the from-scratch transformer
    hf_config: dict[str, Any] | None = None
    freeze_layers: int = 0


@dataclass(frozen=True)
class ModelSpec:
    method: str
    image_model: str
    image_size: int
    projection_dim: int = 512
    graph: GraphSpec | None = None
    text: TextSpec | None = None
    pixel_components: int | None = None  # pixels: the PCA's components (its image encoder replaces image_model)

    def __post_init__(self) -> None:
        entry = get_method(self.method)
        side = entry.report_side
        if (self.graph is not None) != (side == GRAPHS):
            raise ValueError(f"method {self.method!r}: a graph encoder spec is needed for graph methods and only them")
        if (self.text is not None) != (side == TEXT):
            raise ValueError(f"method {self.method!r}: a text encoder spec is needed for text methods and only them")
        if (self.pixel_components is not None) != entry.pixel_pca:
            raise ValueError(f"method {self.method!r}: pixel_components is set for pixels and only for pixels")
        if self.projection_dim < 1 or self.image_size < 1:
            raise ValueError("projection_dim and image_size must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        data = dict(data)
        graph, text = data.pop("graph", None), data.pop("text", None)
        return cls(graph=None if graph is None else GraphSpec(**graph),
                   text=None if text is None else TextSpec(**text), **data)


class Projection(nn.Sequential):
    """ConVIRT's projection head: Linear(F, F) -> ReLU -> Linear(F, D)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__(nn.Linear(in_dim, in_dim), nn.ReLU(), nn.Linear(in_dim, out_dim))


class DualEncoder(nn.Module):
    """Image branch ``[B, 1, H, W] -> [B, F] -> [B, D]`` and report branch ``batch -> [B, F_o] -> [B, D]``."""

    def __init__(self, spec: ModelSpec, image_weights: str | None = None):
        super().__init__()
        self.spec = spec
        self.method = spec.method
        # image_weights (a local timm weights file) only starts training: it is not part of the spec, since the
        # checkpoint carries the trained weights and rebuilding the model must not need the file
        self.image_encoder = (PixelPCA(spec.image_size, spec.pixel_components) if spec.pixel_components is not None
                              else create_image_encoder(spec.image_model, image_weights))
        self.feature_dim = image_feature_dim(self.image_encoder)
        self.image_projection = Projection(self.feature_dim, spec.projection_dim)
        self.other_encoder: nn.Module | None = None
        if spec.graph is not None:
            g = spec.graph
            self.other_encoder = GraphEncoder(**g.encoder_kwargs())
        elif spec.text is not None and spec.text.hf_config is not None:
            from igcl.models.hf_text import HFTextEncoder

            self.other_encoder = HFTextEncoder(spec.text.hf_config, max_tokens=spec.text.max_tokens,
                                               freeze_layers=spec.text.freeze_layers)
        elif spec.text is not None:
            t = spec.text
            self.other_encoder = TextEncoder(t.vocab_size, dim=t.dim, layers=t.layers, heads=t.heads,
                                             max_tokens=t.max_tokens)
        self.other_projection = (Projection(self.other_encoder.feature_dim, spec.projection_dim)
                                 if self.other_encoder is not None else None)

    @property
    def has_report_encoder(self) -> bool:
        return self.other_encoder is not None

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, 1, H, W]`` -> L2-normalised ``[B, D]``."""
        return F.normalize(self.image_projection(self.image_encoder(images)).float(), dim=-1)

    def embed_other(self, other: GraphBatch | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """A :class:`GraphBatch` (igcl) or ``(input_ids, attention_mask)`` (convirt) -> L2-normalised ``[B, D]``."""
        if self.other_encoder is None:
            raise ValueError(f"method {self.method!r} has no report encoder")
        features = self.other_encoder(other) if isinstance(other, GraphBatch) else self.other_encoder(*other)
        return F.normalize(self.other_projection(features).float(), dim=-1)

    def forward(self, images: torch.Tensor, other: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The pair of embeddings the loss contrasts: (images, reports), or (view 1, view 2) for image_only."""
        side = get_method(self.method).report_side
        if side is None:
            raise ValueError(f"method {self.method!r} is not trained")
        if side == VIEW:
            return self.embed_images(images), self.embed_images(other)
        return self.embed_images(images), self.embed_other(other)


def build_model(spec: ModelSpec, *, seed: int, image_weights: str | None = None) -> DualEncoder:
    """The model with its initial weights drawn from a generator seeded with ``seed``; with ``image_weights``, the
    image encoder's come from that local file instead (the other modules' draws are the same either way).

    timm and torch.nn initialise from torch's global generator; ``fork_rng`` gives that generator a private,
    seeded state for the construction and restores the caller's state afterwards, so the weights are a function
    of ``seed`` alone and nothing else in the process is reseeded.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DualEncoder(spec, image_weights)
