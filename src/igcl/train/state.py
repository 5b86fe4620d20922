"""Resume checkpoints: what a run saves every N steps so that a killed run continues exactly where it stopped.

``{out}/resume/step-{step:08d}/`` (written whole through ``atomic_dir``, so a directory that exists is complete):

- ``model.safetensors``: the trained module's state (dual encoder ``model.*`` and loss ``loss.*``, e.g. a
  learned temperature);
- ``state.pt``: ``{"train_state": TrainState fields, "optimizer", "scheduler", "torch_rng", "fingerprint"}``.

The fingerprint records what the weights depend on besides the config's training schedule: method, model spec,
the training config, the graph vocabulary / report-corpus hash and the training studies. Resume policy:

- a state whose fingerprint differs from this run's is stale: written under a different (science) ``config``, or
  from other inputs (graph vocabulary, report corpus, training studies), another method or world size. It can
  never be resumed, and the changed run is what Snakemake asks for (it reruns a job exactly when its config or
  inputs changed), so :func:`load_checkpoint` raises :class:`StaleResumeState` saying what differs, and the
  caller discards the resume folder with one warning and starts afresh, with no failed attempt or manual step;
- a corrupt state raises ValueError: that needs a person to look (an older checkpoint may still be good).

Only the newest ``keep`` checkpoints are kept; a checkpoint's temporary that a kill left is removed by the next save.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from igcl.io import atomic_dir, remove_stale_temps
from igcl.models.checkpoint import load_state_strict, load_weights, save_weights

log = logging.getLogger(__name__)

RESUME_DIR = "resume"
STEP_DIR = re.compile(r"^step-(\d{8})$")
STEP_TEMP = re.compile(r"^\.(step-\d{8})\.[A-Za-z0-9_]+\.tmp$")  # atomic_dir's temporary of a step folder


class StaleResumeState(ValueError):
    """The resume state belongs to another config or other inputs: discard it and start afresh (module doc).
    ``reason`` says what differs."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path}: resume state {reason}")


@dataclass
class TrainState:
    """Counters and logs that must survive a resume (the CSV log is rebuilt from ``log_rows``)."""

    step: int = 0
    epoch_loss_sum: float = 0.0
    epoch_loss_i2o_sum: float = 0.0
    epoch_loss_o2i_sum: float = 0.0
    epoch_steps: int = 0
    epoch_seconds: float = 0.0
    log_rows: list[dict[str, Any]] = field(default_factory=list)

    def record_step(self, losses: tuple[float, float, float], seconds: float) -> None:
        """One finished optimizer step: its (loss, image->other, other->image) means and wall seconds."""
        self.step += 1
        self.epoch_steps += 1
        self.epoch_seconds += seconds
        self.epoch_loss_sum += losses[0]
        self.epoch_loss_i2o_sum += losses[1]
        self.epoch_loss_o2i_sum += losses[2]

    def epoch_means(self) -> tuple[float, float, float]:
        """This epoch's mean (loss, image->other, other->image) over its steps so far (on this rank)."""
        n = max(self.epoch_steps, 1)
        return self.epoch_loss_sum / n, self.epoch_loss_i2o_sum / n, self.epoch_loss_o2i_sum / n

    def end_epoch(self, row: dict[str, Any]) -> None:
        """Append the epoch's log row and start the next epoch's meters from zero."""
        self.log_rows.append(row)
        self.epoch_steps, self.epoch_seconds = 0, 0.0
        self.epoch_loss_sum = self.epoch_loss_i2o_sum = self.epoch_loss_o2i_sum = 0.0


def resume_root(out_dir: str | Path) -> Path:
    return Path(out_dir) / RESUME_DIR


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    root = resume_root(out_dir)
    if not root.is_dir():
        return None
    steps = sorted((p for p in root.iterdir() if p.is_dir() and STEP_DIR.match(p.name)), key=lambda p: p.name)
    return steps[-1] if steps else None


def save_checkpoint(out_dir: str | Path, module: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                    state: TrainState, fingerprint: dict[str, Any], *, keep: int = 2) -> Path:
    target = resume_root(out_dir) / f"step-{state.step:08d}"
    if resume_root(out_dir).is_dir():
        # a kill while writing another step (a run resumed at a different step, or checkpoint_every changed)
        # leaves a model-sized temporary that this step's own atomic_dir would not match
        for name in sorted({m.group(1) for p in resume_root(out_dir).iterdir() if (m := STEP_TEMP.match(p.name))}):
            remove_stale_temps(resume_root(out_dir) / name)
    with atomic_dir(target) as tmp:
        save_weights(module, tmp / "model.safetensors")
        torch.save({"train_state": dataclasses.asdict(state), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                    "fingerprint": fingerprint}, tmp / "state.pt")
    older = sorted(p for p in resume_root(out_dir).iterdir() if p.is_dir() and STEP_DIR.match(p.name))[:-keep]
    for path in older:
        shutil.rmtree(path, ignore_errors=True)
    return target


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    keys = sorted(set(saved) | set(current))
    return [k for k in keys if json.dumps(saved.get(k), sort_keys=True, default=str)
            != json.dumps(current.get(k), sort_keys=True, default=str)]


def _config_differences(saved: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted keys (``graph.hidden_dim``) whose values differ between two config dicts."""
    if not (isinstance(saved, dict) and isinstance(current, dict)):
        return [prefix.rstrip(".")] if prefix else []
    keys = []
    for key in _differences(saved, current):
        was, now = saved.get(key), current.get(key)
        if isinstance(was, dict) and isinstance(now, dict):
            keys += _config_differences(was, now, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def load_checkpoint(path: Path, module: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                    fingerprint: dict[str, Any]) -> TrainState:
    """Restore ``module``/``optimizer``/``scheduler`` from ``path``. Raises :class:`StaleResumeState` (touching
    nothing) if its fingerprint differs from ``fingerprint`` (another config, data or vocabulary), ValueError if
    it is corrupt."""
    state_file = path / "state.pt"
    if not state_file.is_file():
        raise ValueError(f"{state_file}: resume state is missing")
    try:
        saved = torch.load(state_file, map_location="cpu", weights_only=False)
    except Exception as err:  # torch.load raises many types for a damaged file
        raise ValueError(f"{state_file}: corrupt resume state ({err}); delete {path} to resume from an older "
                         f"checkpoint or start afresh") from err
    if not isinstance(saved, dict) or not {"train_state", "optimizer", "scheduler", "fingerprint"} <= set(saved):
        raise ValueError(f"{state_file}: not an igcl resume state")
    differ = _differences(saved["fingerprint"], fingerprint)
    if "config" in differ:
        was, now = saved["fingerprint"].get("config"), fingerprint.get("config")
        keys = _config_differences(was, now)
        raise StaleResumeState(path, f"written under a different config (differs in: "
                                     f"{', '.join(keys) if keys else '(keys unknown)'})")
    if differ:
        if "graph_vocab" in differ:
            was, now = saved["fingerprint"].get("graph_vocab") or {}, fingerprint.get("graph_vocab") or {}
            what = (f"vocabulary mismatch: the checkpoint's graph vocabulary has {was.get('tokens')} tokens "
                    f"(sha256 {str(was.get('sha256'))[:12]}), this run's training graphs give {now.get('tokens')} "
                    f"(sha256 {str(now.get('sha256'))[:12]}); the graphs changed since it was written")
        else:
            what = f"{', '.join(differ)} differ{'s' if len(differ) == 1 else ''} from this run"
        raise StaleResumeState(path, f"written for other inputs: {what}")
    weights = path / "model.safetensors"
    load_state_strict(module, load_weights(weights), where=str(weights))
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    if "torch_rng" in saved:
        torch.set_rng_state(saved["torch_rng"])
    return TrainState(**saved["train_state"])
