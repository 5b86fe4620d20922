"""The ``pixels`` baseline: PCA of the stored pixels as a frozen encoder, on synthetic images whose answer is known."""

import numpy as np
import pytest
import torch

from igcl.data.imageshards.reader import normalize_images
from igcl.evaluate.features import extract_features
from igcl.evaluate.metrics import auroc
from igcl.evaluate.probe import fit_probe_scores
from igcl.models.pixels import PixelPCA, fit_pixel_pca

SIZE = 16


def two_pattern_images(n: int, rng: np.random.Generator):
    """uint8 images = grey + a·(left-half bar) + b·(checkerboard): every image lies in a 2-d affine subspace, so a
    2-component PCA must reproduce it exactly (up to uint8 rounding), and ``a > 0`` is linear in its features."""
    bar = np.zeros((SIZE, SIZE))
    bar[:, : SIZE // 2] = 1.0
    checker = (np.indices((SIZE, SIZE)).sum(0) % 2) * 2.0 - 1.0
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    images = 128 + 40 * a[:, None, None] * bar + 30 * b[:, None, None] * checker
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), a, b


def test_two_components_reconstruct_images_of_a_two_dimensional_family():
    images, _, _ = two_pattern_images(60, np.random.default_rng(0))
    encoder = fit_pixel_pca(images, components=2)
    x = normalize_images(images)
    features = encoder(x)
    assert features.shape == (60, 2)
    rebuilt = features @ encoder.components + encoder.mean
    # uint8 rounding is half a grey level: 0.5 / (255 * 0.25) in normalised units
    assert (rebuilt - x.flatten(1)).abs().max().item() < 0.5 / (255 * 0.25) + 1e-4
    # components are orthonormal, and the coordinates are centred on the fit images
    torch.testing.assert_close(encoder.components @ encoder.components.T, torch.eye(2), atol=1e-5, rtol=0)
    assert features.mean(0).abs().max().item() < 1e-4


def test_probe_on_pixel_features_recovers_a_linear_label():
    rng = np.random.default_rng(1)
    fit_images, _, _ = two_pattern_images(80, rng)
    train_images, a_train, _ = two_pattern_images(40, rng)
    test_images, a_test, _ = two_pattern_images(200, rng)
    encoder = fit_pixel_pca(fit_images, components=2)
    device = torch.device("cpu")
    train_x = extract_features(encoder, train_images, np.arange(40), normalize=normalize_images, batch_size=16,
                               device=device)
    test_x = extract_features(encoder, test_images, np.arange(200), normalize=normalize_images, batch_size=64,
                              device=device)
    scores = fit_probe_scores(train_x, (a_train > 0).astype(int), test_x, C=1.0, max_iter=1000)
    assert auroc((a_test > 0).astype(int), scores) > 0.99


def test_fit_is_deterministic_and_fixes_the_sign():
    images, _, _ = two_pattern_images(50, np.random.default_rng(2))
    one, two = fit_pixel_pca(images, components=3), fit_pixel_pca(images.copy(), components=3)
    torch.testing.assert_close(one.components, two.components, rtol=0, atol=0)


def test_errors_name_the_problem():
    images, _, _ = two_pattern_images(5, np.random.default_rng(3))
    with pytest.raises(ValueError, match="shard.npy: 5 training images cannot give 8 principal components"):
        fit_pixel_pca(images, components=8, where="shard.npy")
    encoder = PixelPCA(SIZE, 2)
    with pytest.raises(ValueError, match=r"expected \[B, 1, 16, 16\] images, got \[2, 1, 8, 8\]"):
        encoder(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="components and image_size must be >= 1"):
        PixelPCA(SIZE, 0)
