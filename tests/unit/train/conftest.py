"""Fixtures for the training tests: one thread (the dev machine's 2 cores are shared; oversubscribed torch threads
make CPU steps 10-50x slower) and a small synthetic image-graph-report data set."""

import pytest
import torch

from igcl.config import from_mapping
from igcl.train.config import PretrainConfig
from igcl.train.loop import PretrainInputs
from igcl.train.synthetic import write_synthetic_pairs


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def synthetic_inputs(tmp_path_factory):
    paths = write_synthetic_pairs(tmp_path_factory.mktemp("synthetic"), studies=120, size=32, seed=0)
    return PretrainInputs(**paths)


def tiny_config(**overrides):
    values = {"image": {"model": "test_resnet", "size": 32}, "projection_dim": 32,
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
