"""Local Hugging Face text models (``transformers``): loading a user's model folder, ConVIRT's pretrained report
encoder, and the hidden-state recipe of the node features.

Nothing here downloads: every load is ``from_pretrained(folder, local_files_only=True)`` of a folder the user
brings (:mod:`igcl.models.hf_folder` checks the path when the workflow reads the config).

* :func:`load_text_model`: ``(tokenizer, model)`` of a folder, checked: a fast tokenizer (its offset mapping places
  entities on sub-tokens), weights that load, and a vocabulary the embedding table covers. Errors name the folder.
* :class:`HFReportTokenizer` / :class:`HFTextEncoder`: ConVIRT's report branch from such a folder
  (``pretrain.text.model_path``): the model's own tokenizer, truncated to ``max_tokens``, the last hidden layer
  max-pooled over the report's tokens (ConVIRT's pooling) -> ``[B, hidden_size]``. ``freeze_layers = N`` freezes the
  embeddings and the first N transformer layers (ConVIRT froze the embeddings and the first 6 of ClinicalBERT's
  12). Dropout is switched off, as in the from-scratch encoder, so that training is a function of the seed and a
  resumed run ends with the weights of an uninterrupted one. The architecture travels as the model's config dict
  in the checkpoint's ModelSpec (:func:`model_config_dict`), the tokenizer as a ``save_pretrained`` folder beside
  the checkpoint, and the weights inside ``checkpoint.safetensors``: evaluation never needs the original folder.
* :func:`summed_hidden_states`: the sum of the last ``layers`` hidden states ``[B, L, hidden_size]``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from igcl.io import atomic_dir
from igcl.models.hf_folder import check_model_folder

log = logging.getLogger(__name__)

DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout",
                "classifier_dropout", "hidden_dropout", "attention_probs_dropout")
TOKENIZER_DIR = "text_model"


def _quiet_transformers() -> None:
    # transformers logs advice about unused weights (a BertModel from a BertForMaskedLM folder) at WARNING; the
    # checks below say what matters.
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # its per-load weight bars; the stages show their own progress


def load_tokenizer(path: str | os.PathLike[str], *, key: str) -> Any:
    """The folder's fast tokenizer; ValueError naming ``key`` and the folder otherwise."""
    from transformers import AutoTokenizer

    _quiet_transformers()
    folder = check_model_folder(path, key=key)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as err:  # transformers raises OSError, ValueError, KeyError... for a folder it cannot read
        raise ValueError(f"{key}: {folder}: cannot load its tokenizer ({type(err).__name__}: {err})") from err
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{key}: {folder}: the tokenizer is not a fast (Rust) tokenizer; igcl needs one for "
                         "character offsets (save the folder with a tokenizer.json)")
    return tokenizer


def load_text_model(path: str | os.PathLike[str], *, key: str) -> tuple[Any, nn.Module]:
    """``(tokenizer, model)`` of a local model folder, the model in eval mode on the CPU.

    ValueError naming ``key`` and the folder when it is not a model folder, its weights or tokenizer do not load,
    or the tokenizer has more tokens than the model's embedding table (a tokenizer of another model)."""
    from transformers import AutoModel

    tokenizer = load_tokenizer(path, key=key)
    folder = Path(path).expanduser()
    try:
        model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    except Exception as err:
        raise ValueError(f"{key}: {folder}: cannot load the model's weights ({type(err).__name__}: {err})") from err
    embeddings = model.get_input_embeddings()
    rows = getattr(embeddings, "num_embeddings", None)
    if rows is not None and len(tokenizer) > rows:
        raise ValueError(f"{key}: {folder}: the tokenizer has {len(tokenizer)} tokens but the model's embedding "
                         f"table has {rows} rows: the tokenizer belongs to another model")
    return tokenizer, model.eval()


def max_positions(model_config: Any) -> int | None:
    """Longest input (special tokens included) the model's position embeddings allow; None when unbounded."""
    return getattr(model_config, "max_position_embeddings", None)


def summed_hidden_states(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                         layers: int) -> torch.Tensor:
    """Sum of the last ``layers`` hidden states (embeddings output excluded unless ``layers`` reaches it):
    ``[B, L]`` -> ``[B, L, hidden_size]`` float32."""
    out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    states = out.hidden_states
    if layers > len(states):
        raise ValueError(f"{layers} layers asked, the model has {len(states)} hidden states")
    return torch.stack([s.float() for s in states[-layers:]]).sum(dim=0)


def model_config_dict(model_config: Any) -> dict[str, Any]:
    """The model's config as plain JSON data (no private keys, no transformers version, no original path)."""
    values = model_config.to_dict()
    return {k: v for k, v in sorted(values.items()) if not k.startswith("_") and k != "transformers_version"}


def _layer_stack(model: nn.Module, num_layers: int) -> nn.ModuleList:
    """The module list of the model's transformer layers (the first ModuleList of ``num_layers`` entries)."""
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == num_layers:
            return module
    raise ValueError(f"{type(model).__name__}: no list of its {num_layers} transformer layers to freeze")


class HFTextEncoder(nn.Module):
    """A Hugging Face encoder built from its config dict (weights loaded afterwards): ``[B, L]`` ids + bool mask
    -> the last hidden layer max-pooled over the unmasked tokens, ``[B, hidden_size]``.

    Args:
        hf_config: :func:`model_config_dict` of the pretrained model (with ``model_type``).
        max_tokens: reports are truncated to this many tokens (special tokens included).
        freeze_layers: embeddings and the first N transformer layers get ``requires_grad = False``.
    """

    def __init__(self, hf_config: Mapping[str, Any], *, max_tokens: int, freeze_layers: int = 0):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        _quiet_transformers()
        values = dict(hf_config)
        if "model_type" not in values:
            raise ValueError("HFTextEncoder: the model config has no model_type")
        for key in DROPOUT_KEYS:
            if isinstance(values.get(key), float):
                values[key] = 0.0
        config = AutoConfig.for_model(**values)
        limit = max_positions(config)
        if limit is not None and max_tokens > limit:
            raise ValueError(f"pretrain.text.max_tokens ({max_tokens}) exceeds the model's "
                             f"max_position_embeddings ({limit})")
        num_layers = getattr(config, "num_hidden_layers", None)
        if freeze_layers and (num_layers is None or freeze_layers > num_layers):
            raise ValueError(f"pretrain.text.freeze_layers ({freeze_layers}) exceeds the model's "
                             f"{num_layers} transformer layers")
        self.model = AutoModel.from_config(config)
        self.max_tokens = max_tokens
        self.freeze_layers = freeze_layers
        self.feature_dim = int(config.hidden_size)
        pooler = getattr(self.model, "pooler", None)
        if isinstance(pooler, nn.Module):  # unused by the max-pool: frozen, so DDP sees no parameter without a gradient
            for param in pooler.parameters():
                param.requires_grad_(False)
        if freeze_layers:
            frozen: list[nn.Module] = [getattr(self.model, "embeddings", None) or self.model.get_input_embeddings()]
            frozen += list(_layer_stack(self.model, num_layers)[:freeze_layers])
            for module in frozen:
                for param in module.parameters():
                    param.requires_grad_(False)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({type(self.model).__name__}, hidden={self.feature_dim}, "
                f"max_tokens={self.max_tokens}, freeze_layers={self.freeze_layers})")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] > self.max_tokens:
            raise ValueError(f"input of {input_ids.shape[1]} tokens exceeds max_tokens={self.max_tokens}")
        x = self.model(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        x = x.masked_fill(~attention_mask.bool().unsqueeze(-1), torch.finfo(x.dtype).min)
        return x.max(dim=1).values


class HFReportTokenizer:
    """A model folder's fast tokenizer with :class:`~igcl.models.text_encoder.ReportTokenizer`'s ``encode`` API:
    ``input_ids`` [B, L] long and ``attention_mask`` [B, L] bool, special tokens added, truncated to
    ``max_tokens``. Saved as a ``save_pretrained`` folder (:data:`TOKENIZER_DIR`) with the model's config."""

    file_name = TOKENIZER_DIR

    def __init__(self, tokenizer: Any, max_tokens: int, model_config: Mapping[str, Any] | None = None):
        if max_tokens < 2:
            raise ValueError(f"max_tokens must be >= 2, got {max_tokens}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.model_config = dict(model_config or {})

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                             return_tensors="pt")
        return enc["input_ids"].long(), enc["attention_mask"].bool()

    def save(self, path: str | os.PathLike[str]) -> None:
        """The tokenizer (``save_pretrained``) and the model's ``config.json``, as one folder, atomically."""
        import json

        with atomic_dir(path) as tmp:
            self.tokenizer.save_pretrained(str(tmp))
            (tmp / "config.json").write_text(json.dumps(self.model_config, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_tokens: int) -> HFReportTokenizer:
        tokenizer = load_tokenizer(path, key="checkpoint text tokenizer")
        return cls(tokenizer, max_tokens)
