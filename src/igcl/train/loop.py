"""The pretraining loop shared by every method (DESIGN.md, "Training engine").

:func:`pretrain` reads the image shard and the report side the method needs, builds the vocabulary / tokenizer
from the training split, then trains with AdamW, a warm-up + cosine schedule, gradient accumulation, bf16 autocast
and channels_last on CUDA, and DDP when launched by ``torchrun`` (``WORLD_SIZE`` set). Every ``checkpoint_every``
optimizer steps it writes a resume checkpoint (:mod:`igcl.train.state`) and on start resumes from the newest one;
data order and augmentation are functions of (seed, step), so a resumed run ends with the same weights as an
uninterrupted one. Each epoch it logs the mean training loss and image->other top-1 retrieval on held-out
(``validate``) studies; ``test`` is never read. Outputs in ``out_dir``: ``checkpoint.safetensors``, ``config.json``,
``train_log.csv`` (+ ``graph_vocab.json`` / ``tokenizer.json``, ``tensorboard/``); see :mod:`igcl.models.checkpoint`.

``pretrain.image.weights`` starts the image encoder from a local file (:mod:`igcl.models.image`); the saved
checkpoint holds the trained weights, so nothing downstream reads that file. ``pretrain.image.freeze_steps``
holds the image backbone fixed (no updates, eval mode) for the first N optimizer steps (:func:`image_frozen`).

A resume state written under another config is stale: it is discarded with a warning and the run starts afresh
(:mod:`igcl.train.state`). A fresh start removes an earlier run's ``tensorboard/`` (a killed run's event files
would otherwise pile up beside the new ones); a resumed run appends to it, purging the events logged after the
resumed step so the curves continue without duplicated steps.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from igcl.config import execution_keys, to_dict
from igcl.devices import resolve_device
from igcl.data.imageshards.reader import ImageShard, normalize_images
from igcl.io import Sidecar, atomic_path, file_sha256, read_sidecar, remove_litter, write_sidecar
from igcl.losses import ContrastiveLoss
from igcl.methods import GRAPHS, TEXT, check_method_settings, get_method
from igcl.models.checkpoint import (CONFIG_FILE, TOKENIZER_FILE, VOCAB_FILE, WEIGHTS_FILE, load_pretrained,
                                   save_pretrained)
from igcl.models.dual import DualEncoder, GraphSpec, ModelSpec, TextSpec, build_model
from igcl.models.graph_vocab import GraphBatch, GraphVocab
from igcl.models.hf_folder import folder_fingerprint
from igcl.models.hf_text import TOKENIZER_DIR
from igcl.models.image import prepare_for_device
from igcl.models.pixels import fit_pixel_pca
from igcl.models.text_encoder import ReportTokenizer, corpus_fingerprint
from igcl.contracts.node_features import NodeFeatureStore
from igcl.train.config import PretrainConfig
from igcl.train.data import (BatchPlan, GraphCollate, MicroBatches, Pairs, TextCollate, load_graphs,
                             load_report_texts, one_per_study, split_pairs, validation_views)
from igcl.train.distributed import (WorldInfo, all_reduce_mean, barrier, broadcast_object, init_distributed, shutdown,
                                    world_info_from_env)
from igcl.train.schedule import cosine_with_warmup
from igcl.train.state import (StaleResumeState, TrainState, latest_checkpoint, load_checkpoint, resume_root,
                              save_checkpoint)

log = logging.getLogger(__name__)

LOG_COLUMNS = ("epoch", "step", "loss", "loss_image_to_other", "loss_other_to_image", "lr", "temperature",
               "pairs_per_s", "val_top1", "val_chance", "val_pairs")
# Config keys that change how a run is executed but not the weights it ends with (marked in PretrainConfig): a
# resume state stays valid when only these changed.
EXECUTION_KEYS = execution_keys(PretrainConfig)
TENSORBOARD_DIR = "tensorboard"
TRAIN_LOG = "train_log.csv"
OUTPUT_FILES = (WEIGHTS_FILE, CONFIG_FILE, TRAIN_LOG, VOCAB_FILE, TOKENIZER_FILE,  # the sidecar is the weights'
                TOKENIZER_DIR)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the run stops and keeps its last good resume checkpoint."""


class TrainingInterrupted(RuntimeError):
    """Raised by ``stop_after_step``: the run stopped early (as if killed) after checkpointing."""


@dataclass(frozen=True)
class PretrainInputs:
    images: Path
    image_index: Path
    graphs: Path | None = None
    manifest: Path | None = None
    node_features: Path | None = None  # igcl with node_features text_model: the node_features stage's folder


@dataclass(frozen=True)
class PretrainOutputs:
    run: Path  # the run folder (results/pretrain/{method}/seed{N}): checkpoint, config, log, vocabulary/tokenizer


def run_pretrain(config: PretrainConfig, inputs: PretrainInputs, outputs: PretrainOutputs, *,
                 method: str) -> Sidecar | None:
    """The pretrain stage (:func:`pretrain`); returns the weights' sidecar on the process that wrote it (rank 0),
    None on the other ranks of a distributed run."""
    out = pretrain(config, method, inputs, outputs.run)
    return read_sidecar(out / WEIGHTS_FILE) if world_info_from_env().is_main else None


class ContrastiveTask(nn.Module):
    """The module DDP wraps: the dual encoder and the loss (which may hold a learned temperature)."""

    def __init__(self, model: DualEncoder, loss: ContrastiveLoss):
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, images: torch.Tensor, other: Any) -> dict[str, torch.Tensor]:
        return self.loss(*self.model(images, other))


@dataclass
class RunContext:
    """What every training step and epoch end of one run reads: built once by :func:`_pretrain`."""

    method: str
    config: PretrainConfig
    out: Path
    world: WorldInfo
    device: torch.device
    bf16: bool
    shard: ImageShard
    val: Pairs
    side: "ReportSide"
    task: "ContrastiveTask"
    ddp: nn.Module  # ``task``, wrapped in DistributedDataParallel when distributed
    plan: BatchPlan
    optimizer: torch.optim.Optimizer
    scheduler: Any
    writer: Any  # a TensorBoard SummaryWriter or None

    @property
    def model(self) -> DualEncoder:
        return self.task.model


def choose_device(config: PretrainConfig, world: WorldInfo) -> torch.device:
    """This process's device (:func:`igcl.devices.resolve_device`; a GPU is the rank's local one)."""
    return resolve_device(config.device, key="pretrain.device", local_rank=world.local_rank)


def use_bf16(config: PretrainConfig, device: torch.device) -> bool:
    return config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda")


def to_device(other: Any, device: torch.device) -> Any:
    if isinstance(other, GraphBatch):
        return other.to(device)
    if isinstance(other, (tuple, list)):  # (input_ids, attention_mask); the DataLoader turns tuples into lists
        return tuple(t.to(device, non_blocking=True) for t in other)
    return other.to(device, non_blocking=True)


def images_to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else images


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices and convolutions only (not biases, norms or the temperature)."""
    decay, no_decay = [], []
    for param in module.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _sha(values: list[str]) -> str:
    return hashlib.sha256("\n".join(values).encode()).hexdigest()


@dataclass
class ReportSide:
    """What the method pairs images with: collate functions for training and held-out studies, and what the
    checkpoint must carry (vocabulary or tokenizer)."""

    collate_train: Any = None
    collate_val: Any = None
    vocab: GraphVocab | None = None
    tokenizer: ReportTokenizer | None = None
    graph_spec: GraphSpec | None = None
    text_spec: TextSpec | None = None
    text_state: dict[str, torch.Tensor] | None = None
    fingerprint: dict[str, Any] | None = None


def build_report_side(method: str, config: PretrainConfig, inputs: PretrainInputs, train: Pairs,
                      val: Pairs) -> ReportSide:
    train_studies = sorted(set(train.study_ids))
    side = get_method(method).report_side
    if side == GRAPHS:
        if inputs.graphs is None:
            raise ValueError("method igcl needs --graphs")
        graphs = load_graphs(inputs.graphs, train_studies, split="train")
        val_graphs = load_graphs(inputs.graphs, sorted(set(val.study_ids)), split="validate")
        vocab = GraphVocab.build([graphs[s] for s in train_studies], min_freq=config.graph.min_token_freq)
        g = config.graph
        # learned node features here; a text_model encoder gets its vector size from the store below
        spec = GraphSpec.from_settings(g, vocab_size=len(vocab), node_features="learned", node_feature_dim=None)
        log.info("graph vocabulary: %d tokens from %d training graphs", len(vocab), len(graphs))
        fingerprint = {"graph_vocab": {"tokens": len(vocab), "sha256": _sha(vocab.tokens)}}
        store = None
        if g.node_features == "text_model":
            store = open_node_features(inputs, {**graphs, **val_graphs})
            spec = dataclasses.replace(spec, node_features="text_model", node_feature_dim=store.dim)
            fingerprint["node_features"] = store.info
        return ReportSide(GraphCollate(graphs, vocab, store), GraphCollate(val_graphs, vocab, store), vocab=vocab,
                          graph_spec=spec, fingerprint=fingerprint)
    if side == TEXT:
        if inputs.manifest is None:
            raise ValueError("method convirt needs --manifest")
        texts = load_report_texts(inputs.manifest, sorted(set(train_studies) | set(val.study_ids)),
                                  split="train or validate")
        corpus = [texts[s] for s in train_studies]
        t = config.text
        text_state = None
        if t.pretrained_path is not None:
            pretrained = load_pretrained(t.pretrained_path)
            if pretrained.method != "convirt":
                raise ValueError(f"pretrain.text.pretrained_path {t.pretrained_path}: a {pretrained.method!r} "
                                 "checkpoint has no text encoder (expected a convirt output directory)")
            tokenizer, spec = pretrained.tokenizer, pretrained.model.spec.text
            text_state = pretrained.model.other_encoder.state_dict()
            log.info("text branch from %s (its architecture replaces pretrain.text's)", t.pretrained_path)
        elif t.model_path is not None:
            tokenizer, spec, text_state = local_text_model(t.model_path, max_tokens=t.max_tokens,
                                                           freeze_layers=t.freeze_layers)
        else:
            tokenizer = ReportTokenizer.train(corpus, vocab_size=t.vocab_size, max_tokens=t.max_tokens)
            spec = TextSpec(vocab_size=tokenizer.vocab_size, dim=t.dim, layers=t.layers, heads=t.heads,
                            max_tokens=t.max_tokens)
        log.info("report tokenizer: %d tokens", tokenizer.vocab_size)
        collate = TextCollate(texts, tokenizer)
        fingerprint = {"report_corpus": corpus_fingerprint(corpus)}
        if t.model_path is not None:
            fingerprint["text_model_sha256"] = folder_fingerprint(t.model_path)
        return ReportSide(collate, collate, tokenizer=tokenizer, text_spec=spec, text_state=text_state,
                          fingerprint=fingerprint)
    return ReportSide(fingerprint={})


def open_node_features(inputs: PretrainInputs, graphs: dict[str, dict[str, Any]]) -> NodeFeatureStore:
    """The node_features stage's store for ``graphs`` (every graph has a vector per node), or ValueError."""
    if inputs.node_features is None:
        raise ValueError("pretrain.graph.node_features is 'text_model': igcl needs --node-features (the "
                         "node_features stage's folder, data/node_features/<model>)")
    store = NodeFeatureStore(inputs.node_features)
    store.check_graphs(graphs)
    log.info("node features: %d-d vectors of %s from %s", store.dim, store.info.get("model"), inputs.node_features)
    return store


def local_text_model(path: str, *, max_tokens: int, freeze_layers: int) -> tuple[Any, TextSpec, dict[str, Any]]:
    """(tokenizer, spec, text-encoder state) of a local Hugging Face model folder (``pretrain.text.model_path``)."""
    from igcl.models.hf_text import HFReportTokenizer, load_text_model, model_config_dict

    hf_tokenizer, hf_model = load_text_model(path, key="pretrain.text.model_path")
    hf_config = model_config_dict(hf_model.config)
    tokenizer = HFReportTokenizer(hf_tokenizer, max_tokens, hf_config)
    spec = TextSpec(vocab_size=tokenizer.vocab_size, max_tokens=max_tokens, hf_config=hf_config,
                    freeze_layers=freeze_layers)
    state = {f"model.{k}": v for k, v in hf_model.state_dict().items()}
    log.info("text branch: %s from %s (%d-d, first %d layer(s) frozen)", type(hf_model).__name__, path,
             hf_model.config.hidden_size, freeze_layers)
    return tokenizer, spec, state


def held_out_top1(model: DualEncoder, shard: ImageShard, val: Pairs, side: ReportSide, config: PretrainConfig,
                  device: torch.device, bf16: bool, chunk: int = 128) -> float:
    """Image->other top-1 retrieval among the held-out studies (chance: 1 / len(val))."""
    was_training = model.training
    model.eval()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    image_emb, other_emb = [], []
    with torch.no_grad(), autocast:
        views = validation_views(shard, val, config.augment, config.seed) if side.collate_val is None else None
        for i in range(0, len(val), chunk):
            rows = val.rows[i:i + chunk]
            image_emb.append(model.embed_images(images_to_device(normalize_images(shard.images(rows)), device)))
            if views is None:
                other_emb.append(model.embed_other(to_device(side.collate_val(val.study_ids[i:i + chunk]), device)))
            else:
                other_emb.append(model.embed_images(images_to_device(views[i:i + chunk], device)))
    model.train(was_training)
    sims = torch.cat(image_emb).float() @ torch.cat(other_emb).float().T
    return float((sims.argmax(dim=1) == torch.arange(len(val), device=sims.device)).float().mean())


def write_train_log(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def pretrain(config: PretrainConfig, method: str, inputs: PretrainInputs, out_dir: str | Path, *,
             stop_after_step: int | None = None) -> Path:
    """Pretrain ``method`` and write its checkpoint directory ``out_dir``; returns ``out_dir``.

    ``stop_after_step``: stop as if killed right after optimizer step N (and its checkpoint, if one is due),
    raising :class:`TrainingInterrupted` without writing final outputs (used to test resuming).
    """
    check_method_settings(method, augment_enabled=config.augment.enabled)
    world = world_info_from_env()
    device = choose_device(config, world)
    init_distributed(world, device)
    try:
        return _pretrain(config, method, inputs, Path(out_dir), world, device, stop_after_step)
    finally:
        shutdown(world)


def _pretrain(config: PretrainConfig, method: str, inputs: PretrainInputs, out: Path, world: WorldInfo,
              device: torch.device, stop_after_step: int | None) -> Path:
    started = time.perf_counter()
    if world.is_main:
        for name in OUTPUT_FILES:  # a killed run's temporaries; the sidecar of weights Snakemake deleted
            remove_litter(out / name)
    shard = ImageShard(inputs.images, inputs.image_index)
    train = split_pairs(shard, "train")
    val = one_per_study(split_pairs(shard, "validate"), config.max_val_pairs)
    log.info("%s: %d training pairs, %d held-out studies, %s, world size %d", method, len(train), len(val), device,
             world.world_size)
    side = build_report_side(method, config, inputs, train, val)
    entry = get_method(method)
    spec = ModelSpec(method=method, image_model=config.image.model, image_size=shard.image_size,
                     projection_dim=config.projection_dim, graph=side.graph_spec, text=side.text_spec,
                     pixel_components=config.pixels.components if entry.pixel_pca else None)
    model = build_model(spec, seed=config.seed, image_weights=config.image.weights)
    if config.image.weights is not None and not entry.pixel_pca:
        log.info("image encoder %s from %s", config.image.model, config.image.weights)
    if side.text_state is not None:
        model.other_encoder.load_state_dict(side.text_state)
    config_dict = to_dict(config)
    if entry.pixel_pca:
        fitted = fit_pixel_pca(shard.images(train.rows), config.pixels.components, seed=config.seed,
                               where=str(inputs.images))
        model.image_encoder.load_state_dict(fitted.state_dict())
        log.info("pixels: PCA of %d training images, %d components", len(train), config.pixels.components)
    if not entry.trained:
        if world.is_main:
            write_outputs(out, model, side, config_dict, [], started, train, val, steps=0, world=world)
        return out

    model = model.to(device)
    model.image_encoder = prepare_for_device(model.image_encoder, device)
    if world.distributed and device.type == "cuda" and config.sync_batchnorm:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    loss = ContrastiveLoss(temperature=config.loss.temperature, learn_temperature=config.loss.learn_temperature,
                           image_to_other_weight=(config.loss.image_to_other_weight if entry.image_to_other_weight is None
                                                  else entry.image_to_other_weight),
                           max_logit_scale=config.loss.max_logit_scale, rank=world.rank,
                           world_size=world.world_size)
    task = ContrastiveTask(model, loss).to(device)
    plan = BatchPlan(len(train), config.batch_size, config.grad_accum_steps, world.world_size, config.epochs)
    optimizer = torch.optim.AdamW(param_groups(task, config.weight_decay), lr=config.lr)
    scheduler = cosine_with_warmup(optimizer, total_steps=plan.total_steps, warmup_steps=config.warmup_steps,
                                   min_lr_ratio=config.min_lr_ratio)
    fingerprint = {"method": method, "model": spec.to_dict(),
                   "config": {k: v for k, v in config_dict.items() if k not in EXECUTION_KEYS},
                   "train_pairs": _sha([f"{r}:{s}" for r, s in zip(train.rows.tolist(), train.study_ids)]),
                   "world_size": world.world_size, **side.fingerprint}
    if config.image.weights is not None:  # the same path with other contents is another run
        fingerprint["image_weights_sha256"] = file_sha256(Path(config.image.weights))
    if config.image.freeze_steps >= plan.total_steps:
        log.warning("pretrain.image.freeze_steps (%d) >= the run's %d optimizer steps: the image encoder never "
                    "trains", config.image.freeze_steps, plan.total_steps)
    resumed = resume(out, world, task, optimizer, scheduler, fingerprint)
    state = TrainState() if resumed is None else resumed[1]
    if resumed is not None:
        log.info("resumed from %s (step %d of %d)", resumed[0], state.step, plan.total_steps)
    ddp = (DistributedDataParallel(task, device_ids=[device.index] if device.type == "cuda" else None)
           if world.distributed else task)
    batches = MicroBatches(shard, train, plan, seed=config.seed, world=world, augment=config.augment,
                           collate_other=side.collate_train, start_step=state.step)
    loader = DataLoader(batches, batch_size=None, shuffle=False, num_workers=config.num_workers,
                        pin_memory=device.type == "cuda")
    writer = _tensorboard(out, config, world, resumed_step=None if resumed is None else state.step)
    ctx = RunContext(method, config, out, world, device, use_bf16(config, device), shard, val, side, task, ddp, plan,
                     optimizer, scheduler, writer)
    progress = tqdm(total=plan.total_steps, initial=state.step, desc=f"pretrain {method}", unit="step",
                    disable=not world.is_main, dynamic_ncols=True)
    batch_iter = iter(loader)
    task.train()
    try:
        while state.step < plan.total_steps:
            losses, seconds = _train_step(ctx, batch_iter, state)
            state.record_step(losses, seconds)
            if config.image.freeze_steps and state.step == config.image.freeze_steps:
                log.info("image encoder frozen for steps 1-%d; it trains from step %d", state.step, state.step + 1)
            progress.update(1)
            progress.set_postfix(loss=f"{losses[0]:.4f}", pairs_s=f"{plan.batch_size / seconds:.0f}")
            if writer is not None:
                writer.add_scalar("train/loss", losses[0], state.step)
                writer.add_scalar("train/lr", scheduler.get_last_lr()[0], state.step)
            if state.step % plan.steps_per_epoch == 0:
                _end_epoch(ctx, state)
            if world.is_main and (state.step % config.checkpoint_every == 0 or state.step == plan.total_steps):
                save_checkpoint(out, task, optimizer, scheduler, state, fingerprint)
            barrier(world)
            if stop_after_step is not None and state.step >= stop_after_step and state.step < plan.total_steps:
                raise TrainingInterrupted(f"stopped after step {state.step} as asked")
    finally:
        progress.close()
        if writer is not None:
            writer.close()
    if world.is_main:
        write_outputs(out, model, side, config_dict, state.log_rows, started, train, val, steps=state.step,
                      world=world)
        shutil.rmtree(resume_root(out), ignore_errors=True)  # finished: a later rerun must start afresh
    barrier(world)
    return out


def _train_step(ctx: RunContext, batch_iter, state: TrainState) -> tuple[tuple[float, float, float], float]:
    """One optimizer step over ``plan.accum_steps`` micro-batches: forward under autocast, backward (DDP syncs on
    the last micro-batch only), AdamW and the schedule. Returns the step's mean (loss, image->other, other->image)
    and its wall seconds. A non-finite loss stops the run, naming the last good checkpoint."""
    tick = time.perf_counter()
    config, plan, model = ctx.config, ctx.plan, ctx.model
    totals = torch.zeros(3, dtype=torch.float64)
    frozen = image_frozen(config, state.step)
    if config.image.freeze_steps:  # every step: the per-epoch validation puts the whole model back in train
        model.image_encoder.train(not frozen)
    for micro in range(plan.accum_steps):
        batch = next(batch_iter)
        images = images_to_device(batch["images"], ctx.device)
        other = (images_to_device(batch["other"], ctx.device) if ctx.side.collate_train is None
                 else to_device(batch["other"], ctx.device))
        sync = micro == plan.accum_steps - 1 or not ctx.world.distributed
        with (contextlib.nullcontext() if sync else ctx.ddp.no_sync()):
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.bf16):
                losses = ctx.ddp(images, other)
            value = losses["loss"]
            if not torch.isfinite(value.detach()):
                last = latest_checkpoint(ctx.out)
                raise NonFiniteLossError(
                    f"{ctx.method}: non-finite loss ({value.item()}) at step {state.step + 1}, micro-batch "
                    f"{micro}; stopped. The last good checkpoint is {last or 'none (no step saved yet)'}; "
                    "lower pretrain.lr or use pretrain.precision fp32")
            (value / plan.accum_steps).backward()
        totals += torch.tensor([float(losses[k].detach()) for k in
                                ("loss", "loss_image_to_other", "loss_other_to_image")], dtype=torch.float64)
    if frozen:
        drop_image_grads(model)
    ctx.optimizer.step()
    ctx.scheduler.step()
    ctx.optimizer.zero_grad(set_to_none=True)
    totals /= plan.accum_steps
    return (float(totals[0]), float(totals[1]), float(totals[2])), time.perf_counter() - tick


def image_frozen(config: PretrainConfig, step: int) -> bool:
    """Whether the optimizer step after ``step`` completed steps leaves the image backbone alone.

    ``pretrain.image.freeze_steps``: steps 1..N. A function of the step counter alone (saved in every resume
    checkpoint), so a run killed mid-freeze resumes frozen for exactly the remaining steps.
    """
    return step < config.image.freeze_steps


def drop_image_grads(model: DualEncoder) -> None:
    """Discard the image backbone's gradients before ``optimizer.step()``: AdamW skips a parameter whose gradient
    is None (no update, no weight decay, no moment state), so a frozen backbone is left exactly as it was and
    starts its Adam moments fresh when it unfreezes. The gradients are still computed (and, under DDP, reduced):
    DDP expects every parameter's gradient each step, and the freeze lasts a few dozen steps at most."""
    for param in model.image_encoder.parameters():
        param.grad = None


def resume(out: Path, world: WorldInfo, task: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
           fingerprint: dict[str, Any]) -> tuple[Path, TrainState] | None:
    """The newest resume checkpoint and its state, loaded into ``task``/``optimizer``/``scheduler``; None for a
    fresh start: no checkpoint, or a stale one (another config or other inputs), which is deleted. A corrupt one
    raises ValueError."""
    resume_from = broadcast_object(world, latest_checkpoint(out) if world.is_main else None)
    if resume_from is None:
        return None
    try:
        state = load_checkpoint(Path(resume_from), task, optimizer, scheduler, fingerprint)
    except StaleResumeState as stale:
        barrier(world)  # every rank has read the state before rank 0 deletes it
        if world.is_main:
            log.warning("%s; discarding %s and starting afresh", stale, resume_root(out))
            shutil.rmtree(resume_root(out), ignore_errors=True)
        barrier(world)
        return None
    return Path(resume_from), state


def _tensorboard(out: Path, config: PretrainConfig, world: WorldInfo, *, resumed_step: int | None) -> Any:
    """The run's SummaryWriter (rank 0, when enabled). A fresh start removes an old ``tensorboard/``; a resumed
    one purges events after ``resumed_step`` (logged by the killed run past its last checkpoint; they are logged
    again)."""
    if not (config.tensorboard and world.is_main):
        return None
    from torch.utils.tensorboard import SummaryWriter

    log_dir = out / TENSORBOARD_DIR
    if resumed_step is None:
        if log_dir.exists():
            log.info("fresh start: removing %s of an earlier run", log_dir)
            shutil.rmtree(log_dir)
        return SummaryWriter(log_dir=str(log_dir))
    # purge_step hides events at steps >= purge_step; step ``resumed_step`` itself was logged before its checkpoint
    return SummaryWriter(log_dir=str(log_dir), purge_step=resumed_step + 1)


def _end_epoch(ctx: RunContext, state: TrainState) -> None:
    """The epoch's log row (mean losses across ranks, pairs/s, held-out top-1 on rank 0), then fresh meters."""
    n = state.epoch_steps
    loss, i2o, o2i = all_reduce_mean(ctx.world, list(state.epoch_means()), ctx.device)
    row = {"epoch": state.step // ctx.plan.steps_per_epoch, "step": state.step, "loss": round(loss, 6),
           "loss_image_to_other": round(i2o, 6), "loss_other_to_image": round(o2i, 6),
           "lr": ctx.scheduler.get_last_lr()[0], "temperature": round(ctx.task.loss.temperature, 6),
           "pairs_per_s": round(ctx.plan.batch_size * n / max(state.epoch_seconds, 1e-9), 2),
           "val_top1": "", "val_chance": round(1.0 / len(ctx.val), 6), "val_pairs": len(ctx.val)}
    if ctx.world.is_main:
        top1 = held_out_top1(ctx.model, ctx.shard, ctx.val, ctx.side, ctx.config, ctx.device, ctx.bf16)
        row["val_top1"] = round(top1, 6)
        log.info("epoch %d: loss %.4f, held-out image->other top-1 %.3f (chance %.3f)", row["epoch"], loss, top1,
                 1.0 / len(ctx.val))
        if ctx.writer is not None:
            ctx.writer.add_scalar("val/image_to_other_top1", top1, state.step)
            ctx.writer.add_scalar("train/epoch_loss", loss, state.step)
    state.end_epoch(row)


def write_outputs(out: Path, model: DualEncoder, side: ReportSide, config_dict: dict[str, Any],
                  log_rows: list[dict[str, Any]], started: float, train: Pairs, val: Pairs, *, steps: int,
                  world: WorldInfo) -> None:
    """train_log.csv, then the checkpoint (config.json last), then the sidecar."""
    if any(isinstance(r.get("loss"), float) and not math.isfinite(r["loss"]) for r in log_rows):
        raise NonFiniteLossError(f"{out}: the training log holds a non-finite loss")
    write_train_log(out / TRAIN_LOG, log_rows)
    seconds = time.perf_counter() - started
    extra = {"steps": steps, "train_pairs": len(train), "val_pairs": len(val), "world_size": world.world_size,
             "seconds": round(seconds, 3)}
    save_pretrained(out, model.to("cpu"), pretrain_config=config_dict, vocab=side.vocab, tokenizer=side.tokenizer,
                    extra=extra)
    write_sidecar(out / WEIGHTS_FILE, config=config_dict,
                  rows={"train_pairs": len(train), "val_pairs": len(val), "steps": steps}, seconds=seconds)
    log.info("wrote %s (%s)", out, json.dumps(extra))
