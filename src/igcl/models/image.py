"""The image encoder: any timm model as a single-channel feature extractor.

``create_image_encoder(name)`` maps ``[B, 1, H, W]`` normalised images
(:func:`igcl.data.imageshards.reader.normalize_images`) to backbone features ``[B, F]`` with ``F = encoder.num_features`` (timm's ``num_classes=0`` drops the classifier
and keeps global pooling). Weights are randomly initialised (``pretrained=False``), or, with ``weights``, read
from a local file through timm's pretrained-file path (:func:`load_weights_file`). Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import timm
import torch
from safetensors import SafetensorError
from torch import nn

# timm reports what a non-strict load left out only through this logger (see load_weights_file)
TIMM_BUILDER_LOGGER = "timm.models._builder"
KEY_REPORTS = ("Missing keys", "Unexpected keys")
STATE_DICT_ERROR = "Error(s) in loading state_dict"  # torch's RuntimeError from load_state_dict
SIZE_MISMATCH = re.compile(r"size mismatch for (\S+): copying a param with shape torch\.Size\((\[.*?\])\) from "
                           r"checkpoint, the shape in current model is torch\.Size\((\[.*?\])\)")


def create_image_encoder(name: str, weights: str | Path | None = None) -> nn.Module:
    """A timm model ``name`` with one input channel and no classifier; raises ValueError for an unknown name.

    ``weights``: a local weights file for ``name`` (see :func:`load_weights_file`); None: random init.
    """
    if not timm.is_model(name):
        raise ValueError(f"image model {name!r} is not a timm model name (see timm.list_models())")
    if weights is not None:
        return load_weights_file(name, weights)
    return timm.create_model(name, in_chans=1, num_classes=0, pretrained=False)


class _KeyReports(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(KEY_REPORTS):
            self.messages.append(message)


@contextmanager
def _key_reports() -> Iterator[_KeyReports]:
    """Collect timm's missing / unexpected key reports while loading (its INFO records are made for the while)."""
    logger = logging.getLogger(TIMM_BUILDER_LOGGER)
    handler, level = _KeyReports(), logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def load_weights_file(name: str, weights: str | Path) -> nn.Module:
    """timm model ``name`` (one input channel, no classifier) with the weights of the local file ``weights``.

    Loaded by ``timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=...))``: timm reads
    .safetensors directly and .pth / .bin with ``torch.load(weights_only=True)`` (a ``state_dict`` / ``model``
    entry of a training checkpoint is unwrapped), applies the model's own checkpoint filter (e.g. OpenAI CLIP or
    original-repo layouts), sums a 3-channel first convolution over its input channels for ``in_chans=1``
    (``timm.layers.adapt_input_conv``), and drops the classifier (``num_classes=0``). The overlay clears the
    registry's URL and hub id, so a missing file can never turn into a download.

    Dropping the classifier makes timm load non-strictly: a file whose keys do not match (another architecture,
    a deeper variant of the same family) would silently leave those weights at random init. Every key report
    timm makes is therefore an error here, as is a shape mismatch (timm's RuntimeError). ValueError names the
    file, the model and the first differing keys.
    """
    path = Path(weights)
    if not path.is_file():
        raise ValueError(f"{path}: image encoder weights file is missing (pretrain.image.weights, for timm model "
                         f"{name!r})")
    overlay = {"file": str(path), "url": None, "hf_hub_id": None, "state_dict": None, "source": None}
    try:
        with _key_reports() as reports:
            encoder = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=overlay, in_chans=1,
                                        num_classes=0)
    except RuntimeError as err:
        if not str(err).startswith(STATE_DICT_ERROR):  # e.g. torch.load on a file that is not a checkpoint
            raise ValueError(f"{path}: cannot read image encoder weights for timm model {name!r} ({err})") from err
        raise ValueError(f"{path}: these weights do not fit timm model {name!r} (a file for another "
                         f"architecture?): {_mismatches(str(err))}") from err
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError, SafetensorError) as err:
        raise ValueError(f"{path}: cannot read image encoder weights for timm model {name!r} "
                         f"({type(err).__name__}: {err})") from err
    if reports.messages:
        detail = "; ".join(_shorten(m) for m in reports.messages)
        raise ValueError(f"{path}: these weights do not fit timm model {name!r} (a file for another "
                         f"architecture?): {detail}")
    return encoder


def _mismatches(message: str, first: int = 3) -> str:
    """torch's load_state_dict error (one "size mismatch for KEY: ..." line per tensor) as its first few keys."""
    found = SIZE_MISMATCH.findall(message)
    if not found:
        return " ".join(message.split())
    listed = [f"{key} is {file} in the file, {model} in the model" for key, file, model in found[:first]]
    more = f", ... {len(found) - first} more" if len(found) > first else ""
    return f"shape mismatch: {'; '.join(listed)}{more} ({len(found)} in all)"


def _shorten(message: str, keys: int = 5) -> str:
    """timm's "Missing keys (a, b, ...) discovered ..." with only the first ``keys`` keys."""
    head, _, rest = message.partition("(")
    names, _, _ = rest.partition(")")
    listed = [k.strip() for k in names.split(",") if k.strip()]
    more = f", ... {len(listed) - keys} more" if len(listed) > keys else ""
    return f"{head.strip().lower()}: {', '.join(listed[:keys])}{more} ({len(listed)} in all)"


def image_feature_dim(encoder: nn.Module) -> int:
    """``F`` of a timm feature extractor."""
    return int(encoder.num_features)


def prepare_for_device(encoder: nn.Module, device: torch.device) -> nn.Module:
    """channels_last memory format on CUDA (faster convolutions with bf16 tensor cores); unchanged on CPU."""
    if device.type == "cuda":
        encoder = encoder.to(memory_format=torch.channels_last)
    return encoder
