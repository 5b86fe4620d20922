"""Seeded batch augmentation of normalised images: random resized crop + brightness/contrast jitter.

Parameters are drawn from an explicit ``torch.Generator`` for the *global* micro-batch, then each rank applies the
rows it holds, so augmentation depends on the sample's place in the global batch and not on the world size.
No horizontal flips: left and right carry meaning in the reports (and graphs) images are paired with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from igcl.train.config import AugmentSettings


@dataclass(frozen=True)
class AugmentParams:
    """Per-sample parameters, each ``[B]``: crop width/height as fractions of the side, crop centre in [-1, 1]
    coordinates, brightness shift, contrast factor."""

    width: torch.Tensor
    height: torch.Tensor
    centre_x: torch.Tensor
    centre_y: torch.Tensor
    brightness: torch.Tensor
    contrast: torch.Tensor

    def select(self, rows: slice) -> AugmentParams:
        return AugmentParams(*(getattr(self, name)[rows] for name in
                               ("width", "height", "centre_x", "centre_y", "brightness", "contrast")))


def draw_params(n: int, settings: AugmentSettings, generator: torch.Generator) -> AugmentParams:
    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)

    area = uniform(settings.crop_scale_min, 1.0)
    log_aspect = uniform(-math.log(settings.max_aspect), math.log(settings.max_aspect))
    aspect = log_aspect.exp()
    width = (area * aspect).sqrt().clamp(max=1.0)
    height = (area / aspect).sqrt().clamp(max=1.0)
    # centre such that the crop stays inside the image: |c| <= 1 - size
    centre_x = (1.0 - width) * uniform(-1.0, 1.0)
    centre_y = (1.0 - height) * uniform(-1.0, 1.0)
    brightness = uniform(-settings.brightness, settings.brightness)
    contrast = uniform(1.0 - settings.contrast, 1.0 + settings.contrast)
    return AugmentParams(*(t.float() for t in (width, height, centre_x, centre_y, brightness, contrast)))


def apply_augment(images: torch.Tensor, params: AugmentParams) -> torch.Tensor:
    """``[B, 1, H, W]`` normalised float -> augmented ``[B, 1, H, W]`` (one affine ``grid_sample``, bilinear)."""
    b = images.shape[0]
    theta = torch.zeros(b, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = params.width.to(images)
    theta[:, 1, 1] = params.height.to(images)
    theta[:, 0, 2] = params.centre_x.to(images)
    theta[:, 1, 2] = params.centre_y.to(images)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = params.contrast.to(images).view(b, 1, 1, 1)
    return (out - mean) * contrast + mean + params.brightness.to(images).view(b, 1, 1, 1)
