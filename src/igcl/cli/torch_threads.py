"""How the torch-using stage CLIs (pretrain, evaluate) honour the job's ``--threads``."""

from __future__ import annotations


def limit_torch_threads(threads: int | None) -> None:
    """Give torch ``threads`` intra-op threads; None leaves torch's own choice."""
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    import torch

    # More threads than the job was given spin against other jobs' threads (10x slower on a shared machine).
    torch.set_num_threads(threads)
