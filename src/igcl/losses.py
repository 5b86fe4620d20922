"""Bidirectional InfoNCE (ConVIRT / CLIP), aware of its rank and world size like open_clip's ``ClipLoss``.

For L2-normalised image embeddings ``u`` [B, D] and report (graph or text) embeddings ``v`` [B, D], with pairs on
the diagonal and ``s = 1 / tau``:

    l(image->other) = -1/B sum_i log( exp(s u_i.v_i) / sum_k exp(s u_i.v_k) )
    l(other->image) = -1/B sum_i log( exp(s v_i.u_i) / sum_k exp(s v_i.u_k) )
    loss            = lambda * l(image->other) + (1 - lambda) * l(other->image)

``tau`` is fixed or learned; learned, it is parameterised as ``log(1/tau)`` and the scale ``1/tau`` is clamped to
``max_logit_scale`` (CLIP's 100), which keeps it positive and bounded. The SimCLR-style ``image_only`` baseline
uses the same module with two augmented views as ``u`` and ``v`` and ``lambda = 0.5``: NT-Xent restricted to
cross-view negatives (the CLIP form of NT-Xent).

Under DDP every rank passes its local ``[B_local, D]`` batch; features are all-gathered *with gradients*
(:class:`_AllGatherWithGrad`) so each local row is contrasted against the global batch, and
each rank's loss is the mean over its own rows. DDP's gradient averaging then gives exactly the gradient of the
global-batch loss, so W processes with B/W rows each train like one process with B rows.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather in the forward; in the backward, every rank's gradient of the gathered tensor is summed
    (all-reduce) and each rank keeps the rows it contributed, so gradients flow into the features of other ranks."""

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.rows = dist.get_rank(), features.shape[0]
        parts = [torch.empty_like(features) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, features.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows]


def gather_with_grad(features: torch.Tensor, world_size: int) -> torch.Tensor:
    """``[B_local, D]`` on every rank -> ``[world_size * B_local, D]`` in rank order, differentiable."""
    if world_size == 1:
        return features
    return _AllGatherWithGrad.apply(features)


class ContrastiveLoss(nn.Module):
    """Returns ``{"loss", "loss_image_to_other", "loss_other_to_image"}`` (scalars) from ``forward(u, v)``.

    Args:
        temperature: initial (or fixed) ``tau`` > 0.
        learn_temperature: train ``log(1/tau)``.
        image_to_other_weight: ``lambda`` in [0, 1].
        max_logit_scale: clamp of ``1/tau`` (must be >= 1/temperature).
        rank, world_size: this process's place in the DDP group.
    """

    def __init__(self, *, temperature: float = 0.1, learn_temperature: bool = False,
                 image_to_other_weight: float = 0.75, max_logit_scale: float = 100.0, rank: int = 0,
                 world_size: int = 1):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not 0.0 <= image_to_other_weight <= 1.0:
            raise ValueError(f"image_to_other_weight must be in [0, 1], got {image_to_other_weight}")
        if max_logit_scale < 1.0 / temperature:
            raise ValueError(f"max_logit_scale ({max_logit_scale}) is below 1/temperature ({1.0 / temperature})")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad rank/world_size {rank}/{world_size}")
        self.image_to_other_weight = image_to_other_weight
        self.max_log_scale = math.log(max_logit_scale)
        self.rank, self.world_size = rank, world_size
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)), requires_grad=learn_temperature)

    def extra_repr(self) -> str:
        return (f"tau={self.temperature:.4g}, learned={self.log_logit_scale.requires_grad}, "
                f"lambda={self.image_to_other_weight}, rank={self.rank}, world_size={self.world_size}")

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_logit_scale.clamp(max=self.max_log_scale).exp()

    @property
    def temperature(self) -> float:
        return float(1.0 / self.logit_scale.detach())

    def forward(self, image: torch.Tensor, other: torch.Tensor) -> dict[str, torch.Tensor]:
        if image.shape != other.shape or image.ndim != 2:
            raise ValueError(f"expected two [B, D] tensors of one shape, got {list(image.shape)} and "
                             f"{list(other.shape)}")
        image, other = image.float(), other.float()
        scale = self.logit_scale
        all_image = gather_with_grad(image, self.world_size)
        all_other = gather_with_grad(other, self.world_size)
        batch = image.shape[0]
        labels = torch.arange(batch, device=image.device) + self.rank * batch
        image_to_other = F.cross_entropy(scale * image @ all_other.T, labels)
        other_to_image = F.cross_entropy(scale * other @ all_image.T, labels)
        lam = self.image_to_other_weight
        return {
            "loss": lam * image_to_other + (1.0 - lam) * other_to_image,
            "loss_image_to_other": image_to_other,
            "loss_other_to_image": other_to_image,
        }
