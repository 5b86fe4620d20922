"""Fixtures for the training tests: one thread (the dev machine's 2 cores are shared; oversubscribed torch threads
make CPU steps 10-50x slower) and a small synthetic image-graph-report data set."""

import pytest
import torch

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
