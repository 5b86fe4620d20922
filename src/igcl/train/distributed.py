"""Process-group set-up for DDP through ``torchrun`` (or SLURM), as in open_clip's ``distributed.py``."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldInfo:
    local_rank: int
    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def world_info_from_env() -> WorldInfo:
    """(local_rank, rank, world_size) from torchrun's LOCAL_RANK/RANK/WORLD_SIZE, else SLURM's
    SLURM_LOCALID/SLURM_PROCID/SLURM_NTASKS, else a single process."""
    env = os.environ
    for local, rank, size in (("LOCAL_RANK", "RANK", "WORLD_SIZE"), ("SLURM_LOCALID", "SLURM_PROCID", "SLURM_NTASKS")):
        if size in env:
            info = WorldInfo(int(env.get(local, 0)), int(env.get(rank, 0)), int(env[size]))
            if info.world_size < 1 or not 0 <= info.rank < info.world_size:
                raise ValueError(f"bad distributed environment: {rank}={info.rank}, {size}={info.world_size}")
            return info
    return WorldInfo(0, 0, 1)


def init_distributed(world: WorldInfo, device: torch.device) -> None:
    """Join the process group (NCCL on CUDA, gloo on CPU; rendezvous from MASTER_ADDR/MASTER_PORT)."""
    if not world.distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, init_method="env://", rank=world.rank, world_size=world.world_size)
    log.info("joined %s process group as rank %d of %d", backend, world.rank, world.world_size)


def barrier(world: WorldInfo) -> None:
    if world.distributed and dist.is_initialized():
        dist.barrier()


def broadcast_object(world: WorldInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (e.g. which checkpoint to resume from)."""
    if not world.distributed:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def all_reduce_mean(world: WorldInfo, values: list[float], device: torch.device) -> list[float]:
    """Mean over ranks of a few scalars (for logging)."""
    if not world.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return (tensor / world.world_size).tolist()


def shutdown(world: WorldInfo) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
