"""The images stage: decode, grayscale, resize and shard manifest JPEGs (reader: :mod:`igcl.data.images`).

``config`` (the ``images`` section), ``decode`` (one JPEG -> one square uint8 array), ``index`` (the index
Parquet contract), ``build`` (the stage: manifest -> ``.npy`` + index).
"""

from igcl.data.imageshards.build import ShardSummary, SkippedImage, build_image_shard
from igcl.data.imageshards.config import ImagesConfig
from igcl.data.imageshards.decode import CorruptImageError, decode_image
from igcl.data.imageshards.index import INDEX_SCHEMA

__all__ = ["INDEX_SCHEMA", "CorruptImageError", "ImagesConfig", "ShardSummary", "SkippedImage",
           "build_image_shard", "decode_image"]
