"""The one device resolver of every stage's ``device`` setting: auto | cpu | cuda."""

from __future__ import annotations

import torch


def resolve_device(name: str, *, key: str, local_rank: int | None = None) -> torch.device:
    """``auto``: CUDA when available, else the CPU; ``cuda`` without CUDA is a ValueError naming the config ``key``
    (e.g. ``pretrain.device``). ``local_rank``: a distributed process's GPU (made its current device)."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"{key}: {name!r} is not one of auto, cpu, cuda")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"{key} is 'cuda' but CUDA is not available")
    if local_rank is None:
        return torch.device("cuda")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)
