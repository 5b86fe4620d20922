"""One JPEG file -> one ``[size, size]`` uint8 grayscale array: strict reduced-scale decode, resize, center crop.

Real MIMIC-CXR-JPG images are about 2500 px on a side; decoding them in full only to throw most pixels away
dominates the stage's time. libjpeg-turbo (through ``simplejpeg``) decodes at 1/2, 1/4 or 1/8 scale (the largest
reduction that keeps both sides >= ``size``, the rule of PIL's ``Image.draft``) and straight to luminance, so the
DCT does most of the downsampling; an antialiased PIL resize then brings the shorter side to exactly ``size``.

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


def reduction(width: int, height: int, size: int) -> int:
    """The DCT-domain reduction (8, 4, 2 or 1) that keeps both sides >= ``size``: the rule of PIL's draft()."""
    scale = min(width // size, height // size)
    return next((r for r in REDUCTIONS if scale >= r), 1)


def _not_a_jpeg(data: bytes) -> str:
    """Why ``data`` (which lacks the JPEG magic bytes) is refused, naming its format when PIL knows it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return f"not a JPEG (PIL reads it as {img.format})"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "not an image file PIL can identify (expected a JPEG)"


def decode_image(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Decode the JPEG at ``path`` into a ``[size, size]`` uint8 array (row 0 is the image's top).

    Shorter side resized to ``size`` and the longer one center-cropped (done as one resize of the centred
    square, so no intermediate image is made). Raises :class:`CorruptImageError` for a missing or unreadable
    file, a file that is not a JPEG, and one that is truncated or corrupt (any libjpeg warning).
    """
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
        r = reduction(width, height, size)
        # ceil(side / r) is exactly libjpeg's output size at scale 1/r, and no smaller scale reaches it
        pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True, min_height=-(-height // r),
                                        min_width=-(-width // r))
    except ValueError as err:  # simplejpeg raises ValueError for libjpeg errors and, with strict, warnings
        raise CorruptImageError(path, f"corrupt or truncated JPEG ({err})") from None
    gray = Image.fromarray(pixels.reshape(pixels.shape[:2]))  # [h, w] uint8: mode L
    out = gray.resize((size, size), RESAMPLE, box=center_square_box(*gray.size))
    return np.asarray(out, dtype=np.uint8)
