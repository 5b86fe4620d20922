import pytest
import torch

from igcl.cli.torch_threads import limit_torch_threads


def test_sets_torch_threads_and_none_keeps_them():
    before = torch.get_num_threads()
    try:
        limit_torch_threads(1)
        assert torch.get_num_threads() == 1
        limit_torch_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [0, -2])
def test_rejects_fewer_than_one_thread(threads):
    with pytest.raises(ValueError, match=f"--threads must be >= 1, got {threads}"):
        limit_torch_threads(threads)
