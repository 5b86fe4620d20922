"""Image-report pairs for pretraining: reading the graphs / report texts that pair with the image shard's rows, and
the deterministic stream of micro-batches each rank trains on.

Data order and augmentation come from ``torch.Generator`` objects seeded by ``(seed, epoch)`` and
``(seed, step, micro-batch, view)``; nothing depends on which process or worker builds a batch, so a resumed run
sees exactly the batches the uninterrupted run would have seen, and W ranks together see what one process sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from igcl.data.imageshards.reader import ImageShard, normalize_images
from igcl.models.text_encoder import report_text
from igcl.contracts.graphs import graphs_of
from igcl.contracts.report_files import report_texts_of
from igcl.train.augment import apply_augment, draw_params
from igcl.train.config import AugmentSettings
from igcl.train.distributed import WorldInfo

log = logging.getLogger(__name__)

# Generator streams: the first key after the seed says what a generator is for.
ORDER_STREAM, AUGMENT_STREAM, VALIDATION_STREAM = 1, 2, 3


def derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for one purpose, from the run's seed and the purpose's keys (numpy SeedSequence mixing)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint64)[0]) & ((1 << 63) - 1)


def generator(seed: int, *keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(seed, *keys))


@dataclass(frozen=True)
class Pairs:
    """Image rows of the shard (``[P]`` int64) and each row's study id; the report side is looked up by study."""

    rows: np.ndarray
    study_ids: list[str]

    def __len__(self) -> int:
        return len(self.rows)


def split_pairs(shard: ImageShard, split: str) -> Pairs:
    rows = shard.rows(split)
    return Pairs(rows, [str(s) for s in shard.study_ids(rows)])


def one_per_study(pairs: Pairs, limit: int) -> Pairs:
    """The first image of each study (shard order), at most ``limit`` studies: the held-out retrieval set, where
    each image has exactly one matching report."""
    seen: set[str] = set()
    keep = []
    for i, study in enumerate(pairs.study_ids):
        if study not in seen and len(keep) < limit:
            seen.add(study)
            keep.append(i)
    return Pairs(pairs.rows[keep], [pairs.study_ids[i] for i in keep])


def load_graphs(graphs_dir: str | Path, studies: Sequence[str], *, split: str) -> dict[str, dict[str, Any]]:
    """Graph rows (GRAPH_SCHEMA dicts) of ``studies`` (:func:`igcl.contracts.graphs.graphs_of`)."""
    return graphs_of(graphs_dir, studies, what=f"{split} studies of the image shard")


def load_report_texts(manifest_path: str | Path, studies: Sequence[str], *, split: str) -> dict[str, str]:
    """Training text (findings + impression, :func:`report_text`) of each of ``studies``, from the report files
    the manifest names (:func:`igcl.contracts.report_files.report_texts_of`)."""
    return {study: report_text(text)
            for study, text in report_texts_of(manifest_path, studies, what=f"{split} study").items()}


@dataclass(frozen=True)
class BatchPlan:
    """How the training pairs are cut: ``B`` = ``batch_size`` pairs per optimizer step, ``A`` micro-batches of
    ``B / A`` pairs, each split over ``W`` ranks (``B / (A W)`` pairs per rank and micro-batch)."""

    num_pairs: int
    batch_size: int
    accum_steps: int
    world_size: int
    epochs: int

    def __post_init__(self) -> None:
        if self.batch_size % (self.accum_steps * self.world_size):
            raise ValueError(f"batch_size {self.batch_size} is not divisible by grad_accum_steps x world size "
                             f"({self.accum_steps} x {self.world_size})")
        if self.steps_per_epoch == 0:
            raise ValueError(f"the training split has {self.num_pairs} pairs, fewer than one batch of "
                             f"{self.batch_size}")

    @property
    def steps_per_epoch(self) -> int:
        return self.num_pairs // self.batch_size  # the incomplete last batch is dropped: contrastive batches stay full

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def micro_size(self) -> int:
        return self.batch_size // self.accum_steps

    @property
    def local_size(self) -> int:
        return self.micro_size // self.world_size


class MicroBatches(Dataset):
    """Item ``k`` is this rank's ``k``-th micro-batch counted from optimizer step ``start_step``:
    ``{"step", "micro", "images": [b, 1, H, W] float, "other": collated reports or a second view [b, 1, H, W]}``.

    ``collate_other(study_ids)`` builds the report side (a GraphBatch, or ``(input_ids, attention_mask)``);
    ``None`` means image_only (the "other" is a second augmented view of the same images).
    """

    def __init__(self, shard: ImageShard, pairs: Pairs, plan: BatchPlan, *, seed: int, world: WorldInfo,
                 augment: AugmentSettings, collate_other: Callable[[list[str]], Any] | None, start_step: int = 0):
        self.shard, self.pairs, self.plan = shard, pairs, plan
        self.seed, self.world, self.augment = seed, world, augment
        self.collate_other = collate_other
        self.start_step = start_step
        self._perm_epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def __len__(self) -> int:
        return (self.plan.total_steps - self.start_step) * self.plan.accum_steps

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            self._perm = torch.randperm(len(self.pairs), generator=generator(self.seed, ORDER_STREAM, epoch))
            self._perm_epoch = epoch
        return self._perm

    def indices(self, step: int, micro: int) -> torch.Tensor:
        """Pair indices this rank holds at (step, micro)."""
        plan = self.plan
        epoch, within = divmod(step, plan.steps_per_epoch)
        start = within * plan.batch_size + micro * plan.micro_size + self.world.rank * plan.local_size
        return self.permutation(epoch)[start:start + plan.local_size]

    def __getitem__(self, k: int) -> dict[str, Any]:
        if not 0 <= k < len(self):
            raise IndexError(k)
        step, micro = self.start_step + k // self.plan.accum_steps, k % self.plan.accum_steps
        idx = self.indices(step, micro).numpy()
        images = normalize_images(self.shard.images(self.pairs.rows[idx]))
        local = slice(self.world.rank * self.plan.local_size, (self.world.rank + 1) * self.plan.local_size)
        views = 2 if self.collate_other is None else 1
        augmented = []
        for view in range(views):
            if self.augment.enabled:
                params = draw_params(self.plan.micro_size, self.augment,
                                     generator(self.seed, AUGMENT_STREAM, step, micro, view)).select(local)
                augmented.append(apply_augment(images, params))
            else:
                augmented.append(images)
        studies = [self.pairs.study_ids[i] for i in idx]
        other = augmented[1] if self.collate_other is None else self.collate_other(studies)
        return {"step": step, "micro": micro, "images": augmented[0], "other": other}


def validation_views(shard: ImageShard, pairs: Pairs, augment: AugmentSettings, seed: int) -> torch.Tensor:
    """A fixed augmented view of the held-out images ``[V, 1, H, W]`` (image_only's held-out "other" side)."""
    images = normalize_images(shard.images(pairs.rows))
    if not augment.enabled:
        return images
    return apply_augment(images, draw_params(len(pairs), augment, generator(seed, VALIDATION_STREAM)))


class GraphCollate:
    """Study ids -> :class:`~igcl.models.graph_vocab.GraphBatch` (picklable, for DataLoader workers); with a
    :class:`~igcl.contracts.node_features.NodeFeatureStore`, each node's text-model vector comes along."""

    def __init__(self, graphs: dict[str, dict[str, Any]], vocab: Any, node_features: Any = None):
        self.graphs, self.vocab, self.node_features = graphs, vocab, node_features

    def __call__(self, studies: list[str]) -> Any:
        from igcl.models.graph_vocab import encode_graphs

        if self.node_features is None:
            return encode_graphs([self.graphs[s] for s in studies], self.vocab)
        rows = [{**self.graphs[s], "node_vectors": self.node_features.vectors(s)} for s in studies]
        return encode_graphs(rows, self.vocab, node_vectors=True)


class TextCollate:
    """Study ids -> ``(input_ids [b, L], attention_mask [b, L])`` of their training text."""

    def __init__(self, texts: dict[str, str], tokenizer: Any):
        self.texts, self.tokenizer = texts, tokenizer

    def __call__(self, studies: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tokenizer.encode([self.texts[s] for s in studies])
