"""Learning-rate schedule: linear warm-up, then cosine decay to ``min_lr_ratio`` of the base rate."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def cosine_with_warmup_factor(step: int, *, total_steps: int, warmup_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based): ``(step + 1) / warmup`` during warm-up, then
    ``min + (1 - min) * (1 + cos(pi * progress)) / 2`` with progress from 0 (end of warm-up) to 1 (last step)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def cosine_with_warmup(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_steps: int,
                       min_lr_ratio: float = 0.0) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: cosine_with_warmup_factor(
        step, total_steps=total_steps, warmup_steps=warmup_steps, min_lr_ratio=min_lr_ratio))
