"""One JPEG file -> one ``[size, size]`` uint8 grayscale array: reduced-scale decode, resize, center crop.

Real MIMIC-CXR-JPG images are about 2500 px on a side; decoding them in full only to throw most pixels away
dominates the stage's time. ``Image.draft("L", (size, size))`` asks libjpeg to decode at 1/2, 1/4 or 1/8 scale
(the largest reduction that keeps both sides >= ``size``) and straight to luminance, so the DCT does most of the
downsampling; an antialiased resize then brings the shorter side to exactly ``size``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

# A resize-and-crop in one step; bicubic with PIL's antialiasing support (the filter widens with the reduction).
RESAMPLE = Image.Resampling.BICUBIC


class CorruptImageError(ValueError):
    """A file listed in the manifest is missing, not a JPEG, or cannot be decoded in full."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@contextlib.contextmanager
def strict_jpeg_loading() -> Iterator[None]:
    """Make PIL raise on truncated files while inside (some libraries set LOAD_TRUNCATED_IMAGES globally)."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def center_square_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The centred square of side ``min(width, height)`` as a PIL box (left, upper, right, lower)."""
    side = min(width, height)
    left = (width - side) / 2
    top = (height - side) / 2
    return (left, top, left + side, top + side)


def decode_image(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Decode the JPEG at ``path`` into a ``[size, size]`` uint8 array (row 0 is the image's top).

    Shorter side resized to ``size`` and the longer one center-cropped (done as one resize of the centred
    square, so no intermediate image is made). Raises :class:`CorruptImageError` for a missing file, a file
    that is not a JPEG, or one that is truncated or corrupt; call inside :func:`strict_jpeg_loading`.
    """
    path = os.fspath(path)
    try:
        with Image.open(path) as img:
            if img.format != "JPEG":
                raise CorruptImageError(path, f"not a JPEG (PIL reads it as {img.format})")
            img.draft("L", (size, size))
            img.load()  # PIL decodes lazily: force it so truncation raises here, not later or never
            gray = img if img.mode == "L" else img.convert("L")
            out = gray.resize((size, size), RESAMPLE, box=center_square_box(*gray.size))
    except CorruptImageError:
        raise
    except FileNotFoundError:
        raise CorruptImageError(path, "file not found") from None
    except UnidentifiedImageError:
        raise CorruptImageError(path, "not an image file PIL can identify (expected a JPEG)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise CorruptImageError(path, f"corrupt or truncated JPEG ({err})") from None
    return np.asarray(out, dtype=np.uint8)
