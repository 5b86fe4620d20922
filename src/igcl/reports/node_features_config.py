"""The ``node_features:`` config section (standard library only: the workflow builds it when it reads the config).

The model folder itself is ``pretrain.graph.text_model_path``; this section says how its vectors are computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from igcl.config import EXECUTION

DTYPES = ("float32", "float16")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class NodeFeaturesConfig:
    layers: int = 4                 # sum of the last N hidden layers (the IGCL authors: 4, BERT's feature recipe)
    max_length: int | None = None   # tokens per window, [CLS] and [SEP] included (null: the model's maximum)
    overlap: int | None = None      # tokens two neighbouring windows share (null: min(128, half a window))
    dtype: str = "float32"          # stored vectors: float32 | float16 (half the disk; the encoder reads float32)
    batch_size: int = field(default=16, metadata=EXECUTION)  # windows per forward pass
    device: str = field(default="auto", metadata=EXECUTION)  # auto (CUDA when available) | cpu | cuda

    def __post_init__(self) -> None:
        if self.layers < 1:
            raise ValueError(f"node_features.layers must be >= 1, got {self.layers}")
        if self.max_length is not None and self.max_length < 4:
            raise ValueError(f"node_features.max_length must be >= 4 (null: the model's maximum), got "
                             f"{self.max_length}")
        if self.overlap is not None and self.overlap < 0:
            raise ValueError(f"node_features.overlap must be >= 0, got {self.overlap}")
        if self.max_length is not None and self.overlap is not None and self.overlap > self.max_length - 3:
            raise ValueError(f"node_features.overlap ({self.overlap}) must be below max_length - 2 "
                             f"({self.max_length - 2} tokens of text per window)")
        if self.dtype not in DTYPES:
            raise ValueError(f"node_features.dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.batch_size < 1:
            raise ValueError(f"node_features.batch_size must be >= 1, got {self.batch_size}")
        if self.device not in DEVICES:
            raise ValueError(f"node_features.device must be one of {DEVICES}, got {self.device!r}")
