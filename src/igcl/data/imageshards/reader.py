"""Reading image shards (the images stage's output) and the one image normalisation the project uses.

An image shard is two files written together by ``igcl images``:

- ``{name}.npy``: uint8 array ``[N, H, W]`` (H == W == ``images.size``), grayscale, row 0 of each image is its top;
- ``{name}.index.parquet``: one row per image, :data:`igcl.data.imageshards.index.INDEX_SCHEMA` (``row``,
  ``study_id``, ``patient_id``, ``image_id``, ``split``, ``view`` and the 14 CheXpert label columns as float32,
  1 / 0 / -1 / null).

:class:`ImageShard` memory-maps the array (nothing is read until indexed) and holds the index as a pyarrow Table.
Training and evaluation turn uint8 batches into model input with :func:`normalize_images` and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from igcl.data.imageshards.index import INDEX_SCHEMA
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import read_table

__all__ = ["IMAGE_MEAN", "IMAGE_STD", "INDEX_SCHEMA", "ImageShard", "normalize_images"]

# Fixed, data-independent constants (see normalize_images for why).
IMAGE_MEAN = 0.5
IMAGE_STD = 0.25


def normalize_images(batch: np.ndarray | torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 images ``[B, H, W]`` (or ``[B, 1, H, W]``) -> float32 tensor ``[B, 1, H, W]``: ``(x / 255 - 0.5) / 0.25``.

    Why these constants: one fixed affine map, not per-data-set statistics, so MIMIC-CXR pretraining and CheXpert
    evaluation see identical preprocessing and a checkpoint carries no data-set-dependent numbers. Chest
    radiographs average near mid-grey with a spread of about a quarter of the range, so the map puts inputs
    roughly at zero mean and unit variance (range [-2, 2]), which is what encoders trained from scratch (and
    their BatchNorm/LayerNorm initialisations) expect; ImageNet's RGB statistics mean nothing for one channel.

    ``device``: move the uint8 batch there first, then convert (a quarter of the bytes cross the bus).
    Raises TypeError for a non-uint8 batch, so an already normalised batch is never normalised twice.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"normalize_images: expected a numpy array or torch tensor, got {type(batch).__name__}")
    if tensor.dtype != torch.uint8:
        raise TypeError(f"normalize_images: expected uint8 images, got {tensor.dtype}")
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4 or tensor.shape[1] != 1:
        raise ValueError(f"normalize_images: expected shape [B, H, W] or [B, 1, H, W], got {list(tensor.shape)}")
    if device is not None:
        tensor = tensor.to(device, non_blocking=True)
    # (x / 255 - mean) / std folded into one multiply and one subtract, both in place: on the CPU this halves the
    # memory passes of the naive expression (the loader's main cost); values agree to float32 rounding (< 1e-6).
    return tensor.float().mul_(1.0 / (255.0 * IMAGE_STD)).sub_(IMAGE_MEAN / IMAGE_STD)


class ImageShard:
    """An image array and its row-aligned index; ``shard[i]`` is image ``i``, ``shard.labels(rows)`` its labels.

    Attributes:
        array:  read-only ``np.memmap`` ``[N, H, W]`` uint8.
        index:  ``pyarrow.Table`` with :data:`INDEX_SCHEMA`, row ``i`` describing ``array[i]``.
        image_size: ``H`` (== ``W``).

    Raises ValueError naming both files when the array and index disagree (different lengths, rows out of
    order) or the array is not ``[N, S, S]`` uint8. Pickles by path (a DataLoader worker reopens the memmap
    instead of receiving a copy of the data).
    """

    def __init__(self, npy_path: str | os.PathLike[str], index_path: str | os.PathLike[str]) -> None:
        self.npy_path = Path(npy_path)
        self.index_path = Path(index_path)
        if not self.npy_path.is_file():
            raise FileNotFoundError(f"{self.npy_path}: no such file")
        try:
            array = np.load(self.npy_path, mmap_mode="r")
        except (ValueError, OSError) as err:
            raise ValueError(f"{self.npy_path}: not a readable .npy array ({err})") from err
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[1] != array.shape[2]:
            raise ValueError(f"{self.npy_path}: expected a uint8 array [N, S, S], "
                             f"got {array.dtype} {list(array.shape)}")
        index = read_table(self.index_path, INDEX_SCHEMA)
        if len(array) != index.num_rows:
            raise ValueError(f"{self.npy_path} holds {len(array)} images but {self.index_path} has "
                             f"{index.num_rows} rows: the two files do not belong together (rerun the images stage)")
        rows = index["row"].to_numpy()
        if not np.array_equal(rows, np.arange(len(rows))):
            raise ValueError(f"{self.index_path}: column 'row' is not 0 .. {len(rows) - 1} in order")
        self.array: np.memmap = array
        self.index: pa.Table = index
        self.image_size: int = int(array.shape[1])
        self._labels = np.stack([index[name].to_numpy(zero_copy_only=False) for name in CHEXPERT_OBSERVATIONS],
                                axis=1).astype(np.float32) if len(array) else np.zeros((0, 14), np.float32)
        self._splits = index["split"].to_numpy(zero_copy_only=False)
        self._study_ids = index["study_id"].to_numpy(zero_copy_only=False)
        self._patient_ids = index["patient_id"].to_numpy(zero_copy_only=False)

    def __reduce__(self):
        return (type(self), (self.npy_path, self.index_path))

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: int) -> np.ndarray:
        """Image ``i`` as a ``[H, W]`` uint8 array (a copy, detached from the file)."""
        return np.array(self.array[i])

    def __repr__(self) -> str:
        return f"ImageShard({str(self.npy_path)!r}, {len(self)} images of {self.image_size}x{self.image_size})"

    def images(self, rows: np.ndarray) -> np.ndarray:
        """Images at ``rows`` (in that order) as one ``[len(rows), H, W]`` uint8 array in memory."""
        return self.array[np.asarray(rows, dtype=np.int64)]

    def rows(self, split: str | None = None) -> np.ndarray:
        """Row numbers (int64, ascending) of split ``split``, or all rows when None.

        Raises ValueError for a split the index does not hold, listing those it does (a typo such as
        ``"val"`` for ``"valid"`` must not silently give an empty set).
        """
        if split is None:
            return np.arange(len(self), dtype=np.int64)
        rows = np.flatnonzero(self._splits == split).astype(np.int64)
        if len(rows) == 0:
            raise ValueError(f"{self.index_path}: no rows of split {split!r} (splits: {sorted(set(self._splits))})")
        return rows

    def labels(self, rows: np.ndarray) -> np.ndarray:
        """``[len(rows), 14]`` float32, CheXpert order (:data:`igcl.labels.CHEXPERT_OBSERVATIONS`), NaN = blank."""
        return self._labels[np.asarray(rows, dtype=np.int64)]

    def study_ids(self, rows: np.ndarray) -> np.ndarray:
        """``[len(rows)]`` study ids (object array of str)."""
        return self._study_ids[np.asarray(rows, dtype=np.int64)]

    def patient_ids(self, rows: np.ndarray) -> np.ndarray:
        """``[len(rows)]`` patient ids (object array of str)."""
        return self._patient_ids[np.asarray(rows, dtype=np.int64)]
