"""Shared helpers of the training tests (a module with a unique name, so tests never import a conftest by name)."""

from igcl.config import from_mapping
from igcl.train.config import PretrainConfig


def tiny_config(**overrides):
    values = {"image": {"model": "test_resnet"}, "projection_dim": 32,
              "graph": {"hidden_dim": 32, "heads": 2},
              "text": {"vocab_size": 200, "dim": 32, "layers": 1, "heads": 2, "max_tokens": 64},
              "epochs": 2, "batch_size": 16, "lr": 3e-3, "warmup_steps": 3, "tensorboard": False,
              "checkpoint_every": 100}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return from_mapping(PretrainConfig, values, where="pretrain")
