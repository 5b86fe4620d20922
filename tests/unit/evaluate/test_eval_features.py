"""Frozen-feature extraction: order, shape checks, and the on-disk cache keyed by content."""

import numpy as np
import pytest
import torch

from igcl.data.imageshards.reader import normalize_images
from igcl.evaluate.features import cache_key, cached_features, checkpoint_hash, extract_features


class MeanPool(torch.nn.Module):
    """[B, 1, H, W] -> [B, 2]: mean and max of each image (order-revealing features)."""

    def forward(self, x):
        return torch.stack([x.mean(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3))], dim=1)


def images(n=10, size=8):
    return np.stack([np.full((size, size), 10 * i, np.uint8) for i in range(n)])


def test_features_follow_the_requested_row_order():
    rows = np.array([7, 2, 9, 0, 2])
    got = extract_features(MeanPool(), images(), rows, normalize=normalize_images, batch_size=2,
                           device=torch.device("cpu"))
    want = (10 * rows / 255 - 0.5) / 0.25
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-5)
    assert got.dtype == np.float32 and got.shape == (5, 2)


def test_resize_to_checkpoint_size():
    seen = []

    class Spy(MeanPool):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return super().forward(x)

    extract_features(Spy(), images(size=8), np.arange(3), normalize=normalize_images, batch_size=4,
                     device=torch.device("cpu"), image_size=16)
    assert seen == [(3, 1, 16, 16)]


def test_wrong_feature_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"ckpt/x: image encoder returned \(3, 2\) .*expected \[3, 512\]"):
        extract_features(MeanPool(), images(), np.arange(3), normalize=normalize_images, batch_size=4,
                         device=torch.device("cpu"), feature_dim=512, where="ckpt/x")

    class Spatial(torch.nn.Module):
        def forward(self, x):
            return x  # a backbone that was not built with global pooling

    with pytest.raises(ValueError, match="image encoder returned"):
        extract_features(Spatial(), images(), np.arange(3), normalize=normalize_images, batch_size=4,
                         device=torch.device("cpu"))


def test_cache_is_reused_and_keyed(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.ones((3, 4), np.float32)

    rows = np.array([1, 2, 3])
    a, hit_a = cached_features(tmp_path, "k1", rows, compute)
    b, hit_b = cached_features(tmp_path, "k1", rows, compute)
    assert (hit_a, hit_b, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(a, b)
    cached_features(tmp_path, "k2", rows, compute)
    # a new key (new checkpoint) computes again and replaces the stale file
    assert len(calls) == 2 and [p.name for p in tmp_path.glob("features-*.npz")] == ["features-k2.npz"]
    assert not list(tmp_path.glob(".*tmp"))


def test_computing_a_cache_removes_temporaries_killed_runs_left_under_any_key(tmp_path):
    rows = np.array([0, 1])
    killed = [tmp_path / ".features-0a1b.npz.x7_k2m9q.tmp", tmp_path / ".features-k3.npz.abc12345.tmp"]
    for path in killed:  # pre-sized by np.savez before the kill: as large as a cache
        path.write_bytes(b"\0" * 4096)
    unrelated = tmp_path / ".features-k3.npz.meta.json.abc.tmp"
    unrelated.write_bytes(b"")
    cached_features(tmp_path, "k1", rows, lambda: np.ones((2, 4), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == [unrelated.name, "features-k1.npz"]
    killed[0].write_bytes(b"")
    _, hit = cached_features(tmp_path, "k1", rows, lambda: np.ones((2, 4), np.float32))
    assert hit and not killed[0].exists()  # a cache hit removes them too


def test_checkpoint_hash_tracks_weights(tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"abc")
    (tmp_path / "config.json").write_text("{}")
    first = checkpoint_hash(tmp_path)
    (tmp_path / "checkpoint.safetensors").write_bytes(b"abd")
    assert checkpoint_hash(tmp_path) != first
    assert cache_key("a", b"b") != cache_key("ab", b"")
    with pytest.raises(FileNotFoundError, match="nowhere/checkpoint.safetensors"):
        checkpoint_hash(tmp_path / "nowhere")
