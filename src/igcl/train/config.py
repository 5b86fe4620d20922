"""The ``pretrain:`` config section as frozen dataclasses (config.yaml documents every key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from igcl.config import EXECUTION
from igcl.models.hf_folder import check_model_folder
from igcl.models.poolings import check_graph_options, get_pooling

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")


def _positive(where: str, **values: float | int) -> None:
    for key, value in values.items():
        if value <= 0:
            raise ValueError(f"{where}.{key} must be > 0, got {value}")


NODE_FEATURES = ("learned", "text_model")


def _check_node_features(node_features: str, path: str | None) -> None:
    if node_features not in NODE_FEATURES:
        raise ValueError(f"pretrain.graph.node_features must be one of {NODE_FEATURES}, got {node_features!r}")
    if node_features == "text_model":
        if path is None:
            raise ValueError("pretrain.graph.node_features 'text_model' needs pretrain.graph.text_model_path "
                             "(a local Hugging Face model folder)")
        check_model_folder(path, key="pretrain.graph.text_model_path")
    elif path is not None:
        raise ValueError(f"pretrain.graph.text_model_path is set ({path}) but node_features is {node_features!r}; "
                         "set node_features: text_model to use it, or text_model_path: null")


def _check_text_model(model_path: str | None, pretrained_path: str | None, freeze_layers: int) -> None:
    if freeze_layers < 0:
        raise ValueError(f"pretrain.text.freeze_layers must be >= 0, got {freeze_layers}")
    if model_path is None:
        if freeze_layers:
            raise ValueError("pretrain.text.freeze_layers needs pretrain.text.model_path (a pretrained model to "
                             "freeze); the from-scratch encoder trains every layer")
        return
    if pretrained_path is not None:
        raise ValueError("pretrain.text: set model_path (a Hugging Face model folder) or pretrained_path (a convirt "
                         "output folder), not both")
    check_model_folder(model_path, key="pretrain.text.model_path")


@dataclass(frozen=True)
class ImageSettings:
    """The image encoder (:mod:`igcl.models.image`).

    model:        any timm model name; the input side is the image shard's.
    weights:      a local weights file for ``model`` (timm or torchvision layout: .safetensors, .pth, .bin),
                  loaded through timm's pretrained-file path: a 3-channel first convolution summed to one channel,
                  the classifier dropped. None: random init. Never downloaded; checked to exist here, so a wrong
                  path stops the workflow before any job.
    freeze_steps: the image backbone takes no optimizer updates for the first N optimizer steps and runs in eval
                  mode (BatchNorm uses and keeps its running statistics), so it is a fixed function while the new
                  projection heads and the report encoder align to it; then it trains (the authors freeze CLIP's
                  image tower for the first 20 batches).
    """

    model: str = "resnet18"
    weights: str | None = None
    freeze_steps: int = 0

    def __post_init__(self) -> None:
        if self.weights is not None:
            path = Path(self.weights)
            if not path.exists():
                raise ValueError(f"pretrain.image.weights: {self.weights} does not exist (a local weights file for "
                                 f"timm model {self.model!r}; nothing is downloaded)")
            if not path.is_file():
                raise ValueError(f"pretrain.image.weights: {self.weights} is not a file (expected a .safetensors, "
                                 ".pth or .bin weights file)")
        if isinstance(self.freeze_steps, bool) or self.freeze_steps < 0:
            raise ValueError(f"pretrain.image.freeze_steps must be >= 0, got {self.freeze_steps}")


@dataclass(frozen=True)
class GraphSettings:
    pooling: str = "components"     # igcl.models.poolings.POOLINGS (components | rgcn_mean | nodes | dummy | ...)
    hidden_dim: int = 128
    rgcn_layers: int = 2
    transformer_layers: int = 1     # >= 1 for components and nodes, >= 0 for the layouts, 0 for the others
    heads: int = 4
    num_bases: int | None = None
    ffn_dim: int | None = None      # transformer feed-forward width (None: 2 x hidden_dim)
    dropout: float = 0.0            # transformer dropout
    fc_layers: int = 0              # Linear + ReLU layers after pooling (the authors': 1)
    virtual_nodes_when: str = "always"  # always | isolated_node (the authors' transforms; layouts only)
    min_token_freq: int = 1
    node_features: str = "learned"  # learned (token-embedding bag) | text_model (the node_features stage's vectors)
    text_model_path: str | None = None  # local Hugging Face model folder for node_features: text_model

    def __post_init__(self) -> None:
        _check_node_features(self.node_features, self.text_model_path)
        get_pooling(self.pooling, where="pretrain.graph.pooling")
        _positive("pretrain.graph", hidden_dim=self.hidden_dim, rgcn_layers=self.rgcn_layers, heads=self.heads,
                  min_token_freq=self.min_token_freq)
        check_graph_options(self.pooling, transformer_layers=self.transformer_layers, hidden_dim=self.hidden_dim,
                            heads=self.heads, fc_layers=self.fc_layers, ffn_dim=self.ffn_dim, dropout=self.dropout,
                            virtual_nodes_when=self.virtual_nodes_when, where="pretrain.graph.")


@dataclass(frozen=True)
class TextSettings:
    vocab_size: int = 2000
    dim: int = 128
    layers: int = 2
    heads: int = 4
    max_tokens: int = 128
    pretrained_path: str | None = None  # a finished convirt output directory to start the text branch from
    model_path: str | None = None   # a local Hugging Face model folder: its tokenizer and weights (not the above)
    freeze_layers: int = 0          # with model_path: freeze the embeddings and the first N transformer layers

    def __post_init__(self) -> None:
        _check_text_model(self.model_path, self.pretrained_path, self.freeze_layers)
        _positive("pretrain.text", vocab_size=self.vocab_size, dim=self.dim, layers=self.layers, heads=self.heads)
        if self.max_tokens < 2:
            raise ValueError(f"pretrain.text.max_tokens must be >= 2, got {self.max_tokens}")
        if self.dim % self.heads:
            raise ValueError(f"pretrain.text.heads ({self.heads}) must divide pretrain.text.dim ({self.dim})")


@dataclass(frozen=True)
class LossSettings:
    temperature: float = 0.1
    learn_temperature: bool = False
    image_to_other_weight: float = 0.75
    max_logit_scale: float = 100.0

    def __post_init__(self) -> None:
        _positive("pretrain.loss", temperature=self.temperature, max_logit_scale=self.max_logit_scale)
        if not 0.0 <= self.image_to_other_weight <= 1.0:
            raise ValueError(f"pretrain.loss.image_to_other_weight must be in [0, 1], got {self.image_to_other_weight}")


@dataclass(frozen=True)
class AugmentSettings:
    enabled: bool = True
    crop_scale_min: float = 0.9     # random resized crop keeps [crop_scale_min, 1] of the area
    max_aspect: float = 1.33        # crop aspect ratio in [1/max_aspect, max_aspect]
    brightness: float = 0.1         # additive shift in normalised units, uniform in [-b, b]
    contrast: float = 0.1           # multiplicative factor uniform in [1 - c, 1 + c]

    def __post_init__(self) -> None:
        if not 0.0 < self.crop_scale_min <= 1.0:
            raise ValueError(f"pretrain.augment.crop_scale_min must be in (0, 1], got {self.crop_scale_min}")
        if self.max_aspect < 1.0:
            raise ValueError(f"pretrain.augment.max_aspect must be >= 1, got {self.max_aspect}")
        if self.brightness < 0 or not 0 <= self.contrast < 1:
            raise ValueError("pretrain.augment.brightness must be >= 0 and contrast in [0, 1)")


@dataclass(frozen=True)
class PixelsSettings:
    components: int = 32            # principal components of the pixels baseline's PCA

    def __post_init__(self) -> None:
        _positive("pretrain.pixels", components=self.components)


@dataclass(frozen=True)
class PretrainConfig:
    # config.yaml lists pretrain.seeds; the workflow runs one job per seed and passes each job its own seed here
    seed: int = 0
    image: ImageSettings = field(default_factory=ImageSettings)
    projection_dim: int = 512
    graph: GraphSettings = field(default_factory=GraphSettings)
    text: TextSettings = field(default_factory=TextSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    pixels: PixelsSettings = field(default_factory=PixelsSettings)
    epochs: int = 6
    batch_size: int = 32            # global pairs per optimizer step (all ranks, all accumulation steps)
    grad_accum_steps: int = 1
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 10
    min_lr_ratio: float = 0.0       # cosine decays to lr * min_lr_ratio
    checkpoint_every: int = field(default=50, metadata=EXECUTION)  # optimizer steps between resume checkpoints
    precision: str = "bf16"         # bf16 autocast on CUDA and CPU | fp32 | auto (bf16 on CUDA, fp32 on CPU)
    device: str = field(default="auto", metadata=EXECUTION)  # auto | cpu | cuda
    sync_batchnorm: bool = True     # SyncBatchNorm under multi-GPU DDP (CUDA only)
    num_workers: int = field(default=0, metadata=EXECUTION)  # DataLoader workers building batches
    max_val_pairs: int = field(default=256, metadata=EXECUTION)  # validate-split studies in the retrieval check
    tensorboard: bool = field(default=True, metadata=EXECUTION)

    def __post_init__(self) -> None:
        _positive("pretrain", projection_dim=self.projection_dim, epochs=self.epochs, batch_size=self.batch_size,
                  grad_accum_steps=self.grad_accum_steps, lr=self.lr, checkpoint_every=self.checkpoint_every,
                  max_val_pairs=self.max_val_pairs)
        if self.seed < 0 or self.weight_decay < 0 or self.warmup_steps < 0 or self.num_workers < 0:
            raise ValueError("pretrain.seed, weight_decay, warmup_steps and num_workers must be >= 0")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"pretrain.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"pretrain.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.device not in DEVICES:
            raise ValueError(f"pretrain.device must be one of {DEVICES}, got {self.device!r}")
        if self.batch_size % self.grad_accum_steps:
            raise ValueError(f"pretrain.batch_size ({self.batch_size}) must be a multiple of grad_accum_steps "
                             f"({self.grad_accum_steps})")
