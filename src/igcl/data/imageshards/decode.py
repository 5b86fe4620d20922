"""One JPEG file -> one ``[size, size]`` uint8 grayscale array: strict reduced-scale decode, then resize to a square.

Real MIMIC-CXR-JPG images are about 2500 px on a side; decoding them in full only to throw most pixels away
dominates the stage's time. libjpeg-turbo (through ``simplejpeg``) decodes at 1/2, 1/4 or 1/8 scale (the largest
reduction that keeps both sides at least as large as the resized image, the rule of PIL's ``Image.draft``) and
straight to luminance, so the DCT does most of the downsampling; an antialiased PIL resize does the rest.

Two ways to make a non-square radiograph square (``images.resize``, :data:`RESIZE_MODES`):

- ``crop`` (the default): the shorter side resized to ``size``, the longer one center-cropped. A portrait chest film
  loses its top and bottom, and with them, at times, the costophrenic angles.
- ``pad``: the longer side resized to ``size`` (aspect ratio kept), the shorter one padded symmetrically with
  :data:`PAD_VALUE` to ``size``; nothing is cut. This is CheXzero's ``preprocess`` (``data_process.py``): shorter
  side ``floor(short * size / long)``, the image pasted at offset ``(size - side) // 2`` (an odd remainder leaves
  the extra padding row or column at the bottom or right) onto a black canvas. Black because it is what CheXzero
  pads with (so its preprocessing is reproduced exactly) and what the air beside the patient already is (direct
  exposure is black on a radiograph), so the padding reads as background, not as a frame the encoder could key on.

Decoding is strict: libjpeg reports damaged entropy-coded data ("Corrupt JPEG data: ...", bad Huffman codes,
bytes overwritten inside the scan) only as a *warning* and goes on to return garbage pixels. PIL cannot stop on
warnings, so such a file used to be stored as if it were fine; ``simplejpeg.decode_jpeg(strict=True)`` turns
every libjpeg warning into an error, which :func:`decode_image` raises as :class:`CorruptImageError`.
"""

from __future__ import annotations

import io
import os

import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

# A resize-and-crop in one step; bicubic with PIL's antialiasing support (the filter widens with the reduction).
RESAMPLE = Image.Resampling.BICUBIC
JPEG_MAGIC = b"\xff\xd8\xff"  # SOI marker, then the first segment's marker
REDUCTIONS = (8, 4, 2)  # the scales libjpeg decodes in the DCT domain that PIL's draft() also uses
RESIZE_MODES = ("crop", "pad")
PAD_VALUE = 0  # black: see the module docstring


class CorruptImageError(ValueError):
    """A file listed in the manifest is missing, not a JPEG, or cannot be decoded in full."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def center_square_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The centred square of side ``min(width, height)`` as a PIL box (left, upper, right, lower)."""
    side = min(width, height)
    left = (width - side) / 2
    top = (height - side) / 2
    return (left, top, left + side, top + side)


def reduction(width: int, height: int, size: int, target: tuple[int, int] | None = None) -> int:
    """The DCT-domain reduction (8, 4, 2 or 1) that keeps both sides >= ``size``, or with ``target`` (width,
    height) each side >= the target's: the rule of PIL's draft()."""
    target_width, target_height = target or (size, size)
    scale = min(width // target_width, height // target_height)
    return next((r for r in REDUCTIONS if scale >= r), 1)


def pad_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """``(left, top, resized_width, resized_height)`` of an image of ``width`` x ``height`` pasted into the
    ``size`` x ``size`` square by ``pad``: the longer side becomes ``size``, the shorter ``floor(short * size /
    long)`` (at least 1 px), centred with the odd pixel of padding on the right / bottom (as CheXzero)."""
    longer = max(width, height)
    resized_width = max(1, width * size // longer)
    resized_height = max(1, height * size // longer)
    return (size - resized_width) // 2, (size - resized_height) // 2, resized_width, resized_height


def _not_a_jpeg(data: bytes) -> str:
    """Why ``data`` (which lacks the JPEG magic bytes) is refused, naming its format when PIL knows it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return f"not a JPEG (PIL reads it as {img.format})"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "not an image file PIL can identify (expected a JPEG)"


def decode_image(path: str | os.PathLike[str], size: int, resize: str = "crop") -> np.ndarray:
    """Decode the JPEG at ``path`` into a ``[size, size]`` uint8 array (row 0 is the image's top).

    ``resize="crop"``: shorter side resized to ``size`` and the longer one center-cropped (done as one resize of
    the centred square, so no intermediate image is made). ``resize="pad"``: longer side resized to ``size``, the
    shorter one padded with :data:`PAD_VALUE` (:func:`pad_geometry`). A square image gives the same array either
    way. Raises :class:`CorruptImageError` for a missing or unreadable file, a file that is not a JPEG, and one
    that is truncated or corrupt (any libjpeg warning).
    """
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize: expected one of {list(RESIZE_MODES)}, got {resize!r}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise CorruptImageError(path, "file not found") from None
    except OSError as err:
        raise CorruptImageError(path, f"cannot read the file ({err.strerror or err})") from None
    if not data.startswith(JPEG_MAGIC):
        raise CorruptImageError(path, _not_a_jpeg(data))
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        geometry = pad_geometry(width, height, size) if resize == "pad" else None
        r = reduction(width, height, size, None if geometry is None else geometry[2:])
        # ceil(side / r) is exactly libjpeg's output size at scale 1/r, and no smaller scale reaches it
        pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True, min_height=-(-height // r),
                                        min_width=-(-width // r))
    except ValueError as err:  # simplejpeg raises ValueError for libjpeg errors and, with strict, warnings
        raise CorruptImageError(path, f"corrupt or truncated JPEG ({err})") from None
    gray = Image.fromarray(pixels.reshape(pixels.shape[:2]))  # [h, w] uint8: mode L
    if geometry is None:
        out = gray.resize((size, size), RESAMPLE, box=center_square_box(*gray.size))
        return np.asarray(out, dtype=np.uint8)
    left, top, resized_width, resized_height = geometry
    square = np.full((size, size), PAD_VALUE, dtype=np.uint8)
    square[top:top + resized_height, left:left + resized_width] = gray.resize((resized_width, resized_height),
                                                                                RESAMPLE)
    return square
