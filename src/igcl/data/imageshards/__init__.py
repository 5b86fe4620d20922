"""The images stage: decode, grayscale, resize and shard manifest JPEGs (reader: :mod:`igcl.data.images`).

``config`` (the ``images`` section), ``decode`` (one JPEG -> one square uint8 array), ``index`` (the index
Parquet contract), ``build`` (the stage: manifest -> ``.npy`` + index).
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> defining module, imported on first use: `igcl.data.imageshards.config` alone (what the workflow reads to
# check config.yaml) then costs no numpy, PIL or pyarrow import.
_EXPORTS = {
    "INDEX_SCHEMA": "igcl.data.imageshards.index",
    "CorruptImageError": "igcl.data.imageshards.decode",
    "ImagesConfig": "igcl.data.imageshards.config",
    "ShardSummary": "igcl.data.imageshards.build",
    "SkippedImage": "igcl.data.imageshards.build",
    "build_image_shard": "igcl.data.imageshards.build",
    "decode_image": "igcl.data.imageshards.decode",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = ["INDEX_SCHEMA", "CorruptImageError", "ImagesConfig", "ShardSummary", "SkippedImage",
           "build_image_shard", "decode_image"]
