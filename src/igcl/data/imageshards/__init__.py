"""The images stage: decode, grayscale, resize and shard manifest JPEGs (reader: :mod:`igcl.data.imageshards.reader`).

``config`` (the ``images`` section), ``decode`` (one JPEG -> one square uint8 array), ``index`` (the index
Parquet contract), ``build`` (the stage: manifest -> ``.npy`` + index).
"""

from __future__ import annotations

from igcl.lazy import lazy_exports

# name -> defining module, imported on first use: `igcl.data.imageshards.config` alone (what the workflow reads to
# check config.yaml) then costs no numpy, PIL or pyarrow import.
_EXPORTS = {
    "INDEX_SCHEMA": "igcl.data.imageshards.index",
    "CorruptImageError": "igcl.data.imageshards.decode",
    "ImagesConfig": "igcl.data.imageshards.config",
    "ShardSummary": "igcl.data.imageshards.build",
    "SkippedImage": "igcl.data.imageshards.build",
    "build_image_shard": "igcl.data.imageshards.build",
    "ImagesInputs": "igcl.data.imageshards.build",
    "ImagesOutputs": "igcl.data.imageshards.build",
    "run_images": "igcl.data.imageshards.build",
    "decode_image": "igcl.data.imageshards.decode",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = ["INDEX_SCHEMA", "CorruptImageError", "ImagesConfig", "ImagesInputs", "ImagesOutputs", "ShardSummary",
           "SkippedImage", "build_image_shard", "decode_image", "run_images"]
