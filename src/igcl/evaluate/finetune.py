"""End-to-end fine-tuning: the image encoder unfrozen under a linear head, a few epochs of AdamW.

The model is ``head(encoder(x))`` with ``encoder`` [B, 1, S, S] → [B, F] (a deep copy of the checkpoint's, so
the frozen one stays intact) and ``head`` a ``Linear(F, P)``. The loss is binary cross-entropy with logits over
the P pathologies, masked where a target is NaN (``uncertain: ignore``). Batches are shuffled by an explicit
``torch.Generator``; the encoder and head get separate learning rates; no augmentation (so that runs are
comparable with the linear probe, which trains on the same (seed, fraction) patient subset).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
import logging
import math

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from igcl.evaluate.config import FinetuneConfig
from igcl.evaluate.context import Forward, Intervals
from igcl.evaluate.features import Normalize, prepare_batch
from igcl.evaluate.probe import ProbeData, fraction_subset_rng, metric_records, score_records
from igcl.evaluate.sampling import sample_fraction
from igcl.rng import Stream, stream_rng

log = logging.getLogger(__name__)


class FinetuneModel(nn.Module):
    """``[B, 1, S, S]`` → logits ``[B, P]``: the encoder's ``[B, F]`` features through one linear layer."""

    def __init__(self, encoder: nn.Module, feature_dim: int, n_outputs: int, generator: torch.Generator) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(feature_dim, n_outputs)
        # nn.Linear's own initialisation (uniform ±1/√F), drawn from our generator instead of the global one
        bound = 1.0 / math.sqrt(feature_dim)
        with torch.no_grad():
            nn.init.uniform_(self.head.weight, -bound, bound, generator=generator)
            nn.init.uniform_(self.head.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def masked_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean BCE over the finite entries of ``targets`` [B, P] (NaN = not usable for that pathology)."""
    usable = torch.isfinite(targets)
    losses = nn.functional.binary_cross_entropy_with_logits(logits, torch.nan_to_num(targets), reduction="none")
    return (losses * usable).sum() / usable.sum().clamp(min=1)


def finetune_scores(encoder: nn.Module, feature_dim: int, images: np.ndarray, normalize: Normalize,
                    train_rows: np.ndarray, train_targets: np.ndarray, test_rows: np.ndarray, *, epochs: int,
                    batch_size: int, lr: float, head_lr: float, weight_decay: float, seed: int,
                    device: torch.device, image_size: int | None) -> np.ndarray:
    """Fine-tune a copy of ``encoder`` on ``images[train_rows]`` / ``train_targets`` [n, P]; return sigmoid scores
    ``[m, P]`` for ``images[test_rows]`` (a NaN column for a pathology whose training targets lack a class)."""
    generator = torch.Generator().manual_seed(int(seed))
    model = FinetuneModel(copy.deepcopy(encoder), feature_dim, train_targets.shape[1], generator)
    model = model.to(device).train()
    optimizer = torch.optim.AdamW([
        {"params": model.encoder.parameters(), "lr": lr},
        {"params": model.head.parameters(), "lr": head_lr},
    ], weight_decay=weight_decay)
    targets = torch.from_numpy(np.asarray(train_targets, dtype=np.float32))
    n = len(train_rows)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator).numpy()
        total = 0.0
        for start in tqdm(range(0, n, batch_size), desc=f"finetune epoch {epoch + 1}/{epochs}", leave=False):
            batch = order[start:start + batch_size]
            sorted_batch = batch[np.argsort(train_rows[batch], kind="stable")]
            x = prepare_batch(images[train_rows[sorted_batch]], normalize, image_size, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(x)
            loss = masked_bce(logits.float(), targets[sorted_batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        log.info("finetune epoch %d/%d: loss %.4f", epoch + 1, epochs, total / max(n, 1))
    model.eval()
    scores = np.empty((len(test_rows), train_targets.shape[1]), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(test_rows), batch_size):
            rows = test_rows[start:start + batch_size]
            order = np.argsort(rows, kind="stable")
            x = prepare_batch(images[rows[order]], normalize, image_size, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                probs = torch.sigmoid(model(x).float()).cpu().numpy()
            scores[start + order] = probs
    for p in range(train_targets.shape[1]):
        y = train_targets[np.isfinite(train_targets[:, p]), p]
        if y.size == 0 or y.min() == y.max():
            scores[:, p] = np.nan
    return scores


@dataclass(frozen=True)
class FinetuneEncoder:
    """The image encoder to fine-tune (copied for every cell; the original is left as it is), its feature size,
    and the images [N, H, W] with the normalisation that makes them its input."""

    encoder: nn.Module
    feature_dim: int
    images: np.ndarray
    normalize: Normalize


def run_finetune(data: ProbeData, model: FinetuneEncoder, cfg: FinetuneConfig, *, method: str, forward: Forward,
                 intervals: Intervals) -> tuple[list[dict], list[dict]]:
    """Fine-tuning at each fraction and seed, on the linear probe's (seed, fraction) subsets → (metrics, scores)."""
    metrics, scores_out = [], []
    encoder, feature_dim, images, normalize = model.encoder, model.feature_dim, model.images, model.normalize
    for f_index, fraction in enumerate(cfg.fractions):
        for seed in cfg.seeds:
            subset = sample_fraction(data.train_patients, data.train_targets, fraction,
                                     fraction_subset_rng(seed, fraction), data.pathologies)
            train_targets = data.train_targets[subset.indices]
            scores = finetune_scores(encoder, feature_dim, images, normalize, data.train_rows[subset.indices],
                                     train_targets, data.test_rows, epochs=cfg.epochs, batch_size=cfg.batch_size,
                                     lr=cfg.lr, head_lr=cfg.head_lr, weight_decay=cfg.weight_decay, seed=seed,
                                     device=forward.device, image_size=forward.image_size)
            setting = {"fraction": float(fraction)}
            metrics += metric_records(method, "finetune", setting, seed, data, scores, train_targets,
                                      n_bootstrap=intervals.n_bootstrap, level=intervals.level,
                                      rng=stream_rng(seed, Stream.FINETUNE_BOOTSTRAP, f_index))
            scores_out += score_records(method, "finetune", setting, seed, data, scores)
    return metrics, scores_out
