"""The image encoder: any timm model as a single-channel feature extractor.

``create_image_encoder(name)`` maps ``[B, 1, H, W]`` normalised images (:func:`igcl.data.images.normalize_images`)
to backbone features ``[B, F]`` with ``F = encoder.num_features`` (timm's ``num_classes=0`` drops the classifier
and keeps global pooling). Weights are always randomly initialised (``pretrained=False``): nothing is downloaded.
"""

from __future__ import annotations

import timm
import torch
from torch import nn


def create_image_encoder(name: str) -> nn.Module:
    """A timm model ``name`` with one input channel and no classifier; raises ValueError for an unknown name."""
    if not timm.is_model(name):
        raise ValueError(f"image model {name!r} is not a timm model name (see timm.list_models())")
    return timm.create_model(name, in_chans=1, num_classes=0, pretrained=False)


def image_feature_dim(encoder: nn.Module) -> int:
    """``F`` of a timm feature extractor."""
    return int(encoder.num_features)


def prepare_for_device(encoder: nn.Module, device: torch.device) -> nn.Module:
    """channels_last memory format on CUDA (faster convolutions with bf16 tensor cores); unchanged on CPU."""
    if device.type == "cuda":
        encoder = encoder.to(memory_format=torch.channels_last)
    return encoder
