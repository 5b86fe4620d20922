"""Pretrained checkpoints: what ``igcl pretrain`` writes and what ``igcl evaluate`` loads.

A checkpoint directory (``results/pretrain/{method}/seed{N}/``) holds:

- ``checkpoint.safetensors``: the :class:`~igcl.models.dual.DualEncoder` state dict (image encoder, projections,
  report encoder), metadata ``{"format": "igcl-pretrained/1", "method": ...}``;
- ``config.json``: ``{"format", "method", "model": ModelSpec, "pretrain": the training config, "files": {...}}``;
- ``graph_vocab.json`` (igcl) or ``tokenizer.json`` (convirt): the report encoder's vocabulary; convirt from a local
  Hugging Face model (``pretrain.text.model_path``) has ``text_model/`` instead: the tokenizer's ``save_pretrained``
  folder and the model's ``config.json`` (the architecture is in the ModelSpec, the weights in the safetensors), so
  evaluation never needs the original folder. An igcl encoder on text-model node features
  (``node_features: text_model``) embeds graph rows that carry their ``node_vectors``.

:func:`load_pretrained` rebuilds the architecture from ``config.json`` and loads the weights strictly: a missing
file, a corrupt file or weights of another architecture raise ValueError naming the file and the problem.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from igcl.io import atomic_path
from igcl.methods import GRAPHS, get_method
from igcl.models.dual import DualEncoder, ModelSpec, build_model
from igcl.models.graph_vocab import GraphVocab, encode_graphs
from igcl.models.text_encoder import ReportTokenizer, report_text

CHECKPOINT_FORMAT = "igcl-pretrained/1"
WEIGHTS_FILE = "checkpoint.safetensors"
CONFIG_FILE = "config.json"
VOCAB_FILE = "graph_vocab.json"
TOKENIZER_FILE = "tokenizer.json"
EMBED_CHUNK = 256


def save_weights(model: nn.Module, path: str | Path, *, metadata: Mapping[str, str] | None = None) -> None:
    """A state dict as safetensors, atomically (tensors copied to contiguous CPU memory first); the same weights
    and metadata give the same bytes."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata or {}))
        _sort_metadata(tmp)


def _sort_metadata(path: Path) -> None:
    """Rewrite the safetensors header with its metadata keys sorted, in place.

    safetensors writes ``__metadata__`` from a Rust HashMap, whose order is seeded per process, so two saves of
    the same weights differed in a few header bytes and a rerun could never be byte-identical to the first run.
    The sorted header has the same length (the same keys and values, compact JSON), so nothing else moves.
    """
    with open(path, "r+b") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        raw = handle.read(size)
        header = json.loads(raw)
        if len(header.get("__metadata__") or {}) < 2:
            return
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        text = text.ljust(size)  # safetensors pads its header with spaces to an 8-byte boundary
        if len(text) != size:
            raise RuntimeError(f"{path}: the sorted safetensors header is {len(text)} bytes, the file's {size}")
        handle.seek(8)
        handle.write(text)


def load_weights(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read a safetensors state dict; missing or unreadable -> ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: weights file is missing")
    try:
        return load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: corrupt or unreadable safetensors file ({err})") from err


def load_state_strict(model: nn.Module, state: Mapping[str, torch.Tensor], *, where: str) -> None:
    """``model.load_state_dict(state, strict=True)`` with an error that names ``where`` and what differs."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f"{k}: {list(state[k].shape)} vs {list(v.shape)}" for k, v in own.items()
                  if k in state and state[k].shape != v.shape]
    if missing or unexpected or mismatched:
        raise ValueError(f"{where}: weights do not fit the architecture in its config (missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}, shape mismatch {mismatched[:5]})")
    model.load_state_dict(state, strict=True)


def save_pretrained(out_dir: str | Path, model: DualEncoder, *, pretrain_config: Mapping[str, Any],
                    vocab: GraphVocab | None = None, tokenizer: ReportTokenizer | None = None,
                    extra: Mapping[str, Any] | None = None) -> None:
    """Write the checkpoint files (each atomically; ``config.json`` last, so its presence means complete)."""
    out = Path(out_dir)
    files = {"weights": WEIGHTS_FILE}
    if vocab is not None:
        vocab.save(out / VOCAB_FILE)
        files["graph_vocab"] = VOCAB_FILE
    if tokenizer is not None:
        name = getattr(tokenizer, "file_name", TOKENIZER_FILE)  # a Hugging Face tokenizer is a folder (text_model/)
        tokenizer.save(out / name)
        files["tokenizer"] = name
    save_weights(model, out / WEIGHTS_FILE, metadata={"format": CHECKPOINT_FORMAT, "method": model.method})
    config = {"format": CHECKPOINT_FORMAT, "method": model.method, "model": model.spec.to_dict(),
              "pretrain": dict(pretrain_config), "files": files, **dict(extra or {})}
    with atomic_path(out / CONFIG_FILE) as tmp:
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")


class Pretrained:
    """A loaded checkpoint in eval mode, with the API evaluation codes against.

    Attributes: ``method``; ``image_encoder`` (``[B, 1, H, W]`` normalised float -> ``[B, feature_dim]``);
    ``feature_dim``; ``image_size``; ``has_report_encoder``; ``model`` (the whole :class:`DualEncoder`);
    ``config`` (the parsed ``config.json``); ``vocab`` / ``tokenizer`` where the method has one.
    """

    def __init__(self, model: DualEncoder, config: dict[str, Any], *, vocab: GraphVocab | None = None,
                 tokenizer: ReportTokenizer | None = None):
        self.model = model.eval()
        self.config = config
        self.method: str = model.method
        self.image_encoder: nn.Module = model.image_encoder
        self.feature_dim: int = model.feature_dim
        self.image_size: int = model.spec.image_size
        self.has_report_encoder: bool = model.has_report_encoder
        self.vocab = vocab
        self.tokenizer = tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, 1, H, W]`` normalised float -> projected, L2-normalised ``[B, D]`` (on the model's device)."""
        return self.model.embed_images(images.to(self.device, dtype=torch.float32))

    @torch.no_grad()
    def embed_reports(self, texts: Sequence[str] | None = None,
                      graphs: Sequence[Mapping[str, Any]] | None = None) -> torch.Tensor:
        """Reports -> projected, L2-normalised ``[B, D]``: convirt reads ``texts`` (full reports or already
        extracted findings + impression), igcl reads ``graphs`` (GRAPH_SCHEMA rows). ValueError for methods
        without a report encoder or when the input the method needs is missing."""
        if not self.has_report_encoder:
            raise ValueError(f"method {self.method!r} has no report encoder: it cannot embed reports")
        if get_method(self.method).report_side == GRAPHS:
            if graphs is None:
                raise ValueError("igcl embeds reports from their graphs: pass graphs=[GRAPH_SCHEMA rows]")
            # a text_model encoder reads each row's "node_vectors" (igcl.contracts.node_features.NodeFeatureStore)
            vectors = self.model.spec.graph.node_features == "text_model"
            chunks = [self.model.embed_other(encode_graphs(graphs[i:i + EMBED_CHUNK], self.vocab,
                                                           node_vectors=vectors).to(self.device))
                      for i in range(0, len(graphs), EMBED_CHUNK)]
        else:
            if texts is None:
                raise ValueError("convirt embeds reports from their text: pass texts=[report strings]")
            chunks = []
            for i in range(0, len(texts), EMBED_CHUNK):
                ids, mask = self.tokenizer.encode([report_text(t) for t in texts[i:i + EMBED_CHUNK]])
                chunks.append(self.model.embed_other((ids.to(self.device), mask.to(self.device))))
        if not chunks:
            return torch.zeros(0, self.model.spec.projection_dim, device=self.device)
        return torch.cat(chunks)


def read_config(checkpoint_dir: str | Path) -> dict[str, Any]:
    path = Path(checkpoint_dir) / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{path}: checkpoint config is missing (is {checkpoint_dir} a finished pretrain output?)")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: corrupt checkpoint config ({err})") from err
    if not isinstance(config, dict) or config.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an igcl checkpoint config (expected format {CHECKPOINT_FORMAT!r})")
    return config


def load_pretrained(checkpoint_dir: str | Path, map_location: str | torch.device = "cpu") -> Pretrained:
    """Load ``checkpoint_dir`` (see the module docstring) onto ``map_location``, in eval mode."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        raise ValueError(f"{root}: checkpoint directory is missing")
    config = read_config(root)
    config_path = root / CONFIG_FILE
    try:
        spec = ModelSpec.from_dict(config["model"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{config_path}: bad model spec ({err})") from err
    vocab = tokenizer = None
    if spec.graph is not None:
        vocab = GraphVocab.load(root / VOCAB_FILE)
        if len(vocab) != spec.graph.vocab_size:
            raise ValueError(f"{root / VOCAB_FILE}: {len(vocab)} tokens, but {config_path} expects "
                             f"{spec.graph.vocab_size}")
    if spec.text is not None and spec.text.hf_config is not None:
        from igcl.models.hf_text import TOKENIZER_DIR, HFReportTokenizer

        tokenizer = HFReportTokenizer.load(root / TOKENIZER_DIR, max_tokens=spec.text.max_tokens)
        if tokenizer.vocab_size != spec.text.vocab_size:
            raise ValueError(f"{root / TOKENIZER_DIR}: {tokenizer.vocab_size} tokens, but {config_path} expects "
                             f"{spec.text.vocab_size}")
    elif spec.text is not None:
        tokenizer = ReportTokenizer.load(root / TOKENIZER_FILE, max_tokens=spec.text.max_tokens)
        if tokenizer.vocab_size != spec.text.vocab_size:
            raise ValueError(f"{root / TOKENIZER_FILE}: {tokenizer.vocab_size} tokens, but {config_path} expects "
                             f"{spec.text.vocab_size}")
    model = build_model(spec, seed=0)
    load_state_strict(model, load_weights(root / WEIGHTS_FILE), where=str(root / WEIGHTS_FILE))
    return Pretrained(model.to(map_location), config, vocab=vocab, tokenizer=tokenizer)
