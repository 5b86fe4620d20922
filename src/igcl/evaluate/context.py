"""Small value objects the evaluation tasks share, so a task call names what it needs in a few arguments."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Intervals:
    """How every confidence interval of the stage is computed: ``n_bootstrap`` percentile-bootstrap resamples
    of the test items, at confidence ``level``."""

    n_bootstrap: int
    level: float


@dataclass(frozen=True)
class Forward:
    """How images pass through an encoder: ``batch_size`` per pass on ``device``, resized to ``image_size``
    (None: as stored)."""

    batch_size: int
    device: torch.device
    image_size: int | None
