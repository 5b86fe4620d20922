"""Frozen image features of a checkpoint, extracted once and cached on disk by content key.

The cache file ``<cache_dir>/features-<key>.npz`` holds ``rows`` [n] int64 and ``features`` [n, F] float32; the
key hashes the checkpoint's files, the image shard's identity (index bytes, array size and mtime), the rows and
the input size, so a rerun with other probe settings reuses it and any change to those inputs misses it. Writing a
new cache file removes the directory's other ``features-*.npz`` (they belong to inputs that are gone), and every
lookup first removes the temporaries ``.features-*.npz.<random>.tmp`` that killed runs left, whatever their key (a
run killed under another checkpoint leaves one that this key's write would never match; each is as large as a
cache). One evaluate job owns a cache directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from igcl import devices
from igcl.io import atomic_path, file_sha256, remove_stale_temps

log = logging.getLogger(__name__)

Normalize = Callable[[np.ndarray], torch.Tensor]  # uint8 [B, H, W] -> float [B, 1, H, W]
CHECKPOINT_FILES: tuple[str, ...] = ("checkpoint.safetensors", "config.json")
CACHE_TEMP = re.compile(r"\.(features-[A-Za-z0-9_-]+\.npz)\.[A-Za-z0-9_]+\.tmp")  # atomic_path's temp of a cache file


def checkpoint_hash(checkpoint_dir: str | os.PathLike[str]) -> str:
    """sha256 over the checkpoint's weight and config files (those present; the weights must be)."""
    directory = Path(checkpoint_dir)
    if not (directory / CHECKPOINT_FILES[0]).is_file():
        raise FileNotFoundError(f"{directory / CHECKPOINT_FILES[0]}: no such checkpoint file")
    digest = hashlib.sha256()
    for name in CHECKPOINT_FILES:
        if (directory / name).is_file():
            digest.update(name.encode() + file_sha256(directory / name).encode())
    return digest.hexdigest()


def shard_identity(npy_path: str | os.PathLike[str], index_path: str | os.PathLike[str]) -> str:
    """Cheap identity of an image shard: the index's bytes plus the array file's size and mtime (it can be GBs)."""
    stat = os.stat(npy_path)
    return f"{file_sha256(index_path)}:{stat.st_size}:{stat.st_mtime_ns}"


def cache_key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def resolve_device(name: str) -> torch.device:
    """The evaluate stage's device (:func:`igcl.devices.resolve_device`)."""
    return devices.resolve_device(name, key="evaluate.device")


def prepare_batch(images: np.ndarray, normalize: Normalize, image_size: int | None,
                  device: torch.device) -> torch.Tensor:
    """uint8 ``[B, H, W]`` → normalised float ``[B, 1, S, S]`` on ``device`` (bilinear resize when H ≠ S)."""
    x = normalize(np.ascontiguousarray(images)).to(device)
    if image_size is not None and tuple(x.shape[-2:]) != (image_size, image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    return x


@torch.no_grad()
def extract_features(encoder: torch.nn.Module, images: np.ndarray, rows: np.ndarray, *, normalize: Normalize,
                     batch_size: int, device: torch.device, image_size: int | None = None,
                     feature_dim: int | None = None, where: str = "encoder") -> np.ndarray:
    """Features ``[n, F]`` float32 of ``images[rows]`` (``images`` [N, H, W] uint8, e.g. a memmap).

    Raises ValueError naming ``where`` when the encoder returns anything but finite ``[B, feature_dim]``.
    """
    encoder = encoder.to(device).eval()
    if image_size is not None and tuple(images.shape[1:]) != (image_size, image_size):
        log.info("resizing %s images to the checkpoint's %d px", tuple(images.shape[1:]), image_size)
    out: np.ndarray | None = None
    for start in tqdm(range(0, len(rows), batch_size), desc="features", unit="batch", leave=False):
        batch_rows = rows[start:start + batch_size]
        x = prepare_batch(images[np.sort(batch_rows)], normalize, image_size, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            y = encoder(x)
        if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != len(batch_rows) or (
                feature_dim is not None and y.shape[1] != feature_dim):
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"{where}: image encoder returned {shape} for a batch {tuple(x.shape)}; "
                             f"expected [{len(batch_rows)}, {feature_dim or 'F'}] features")
        y = y.float().cpu().numpy()
        if not np.isfinite(y).all():
            raise ValueError(f"{where}: image encoder returned non-finite features for shard rows "
                             f"{batch_rows[:5].tolist()}...")
        if out is None:
            out = np.empty((len(rows), y.shape[1]), dtype=np.float32)
        # the batch was read in sorted row order (memmap locality); put it back in the caller's order
        out[start:start + len(batch_rows)] = y[np.argsort(np.argsort(batch_rows, kind="stable"), kind="stable")]
    if out is None:
        raise ValueError(f"{where}: no images to extract features from")
    return out


def remove_cache_temps(cache_dir: str | os.PathLike[str]) -> list[Path]:
    """Remove every cache file's temporaries in ``cache_dir`` (one evaluate job owns the directory)."""
    directory = Path(cache_dir)
    if not directory.is_dir():
        return []
    finals = {m.group(1) for p in directory.iterdir() if (m := CACHE_TEMP.fullmatch(p.name))}
    return [removed for name in sorted(finals) for removed in remove_stale_temps(directory / name)]


def cached_features(cache_dir: str | os.PathLike[str], key: str, rows: np.ndarray,
                    compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
    """``(features [n, F], was_cached)``: load ``features-<key>.npz`` or compute and write it atomically."""
    path = Path(cache_dir) / f"features-{key}.npz"
    remove_cache_temps(cache_dir)
    if path.is_file():
        with np.load(path) as cached:
            if np.array_equal(cached["rows"], rows):
                log.info("features: reusing cache %s", path)
                return cached["features"], True
        log.warning("features: cache %s holds other rows; recomputing", path)
    features = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, rows=rows, features=features)
    # features of an older checkpoint or shard can never be hit again (real data: ~400 MB each); keep only this one
    for stale in Path(cache_dir).glob("features-*.npz"):
        if stale != path:
            log.info("features: removing stale cache %s", stale)
            stale.unlink(missing_ok=True)
    return features, False


@torch.no_grad()
def embed_in_batches(embed: Callable[..., torch.Tensor], n: int, batch_size: int, make_args: Callable,
                     what: str) -> np.ndarray:
    """``[n, D]`` float32 from ``embed(*make_args(start, stop))`` over batches; checks shape and finiteness."""
    chunks = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        out = embed(*make_args(start, stop))
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != stop - start:
            raise ValueError(f"{what}: expected [{stop - start}, D] embeddings, got "
                             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
        chunks.append(out.float().cpu().numpy())
    embedded = np.concatenate(chunks)
    if not np.isfinite(embedded).all():
        raise ValueError(f"{what}: non-finite embeddings")
    return embedded


def l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
