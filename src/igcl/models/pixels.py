"""The ``pixels`` baseline's image encoder: PCA of the normalised stored pixels, a fixed linear map.

It answers the question every learned encoder must clear: does pretraining give the probe anything that the raw
pixels, compressed without labels, do not? The PCA is fitted (unsupervised, no labels and no reports) on the
pretraining shard's ``train`` images, exactly the images the learned methods pretrain on; evaluation then
treats it like any other frozen encoder (same features cache, sampling, probe and CIs).

``PixelPCA`` maps ``[B, 1, S, S]`` normalised images (:func:`igcl.data.imageshards.reader.normalize_images`) to
``[B, components]`` coordinates: ``(x.flatten() - mean) @ components.T``. Mean and components are buffers, so
they live in the checkpoint's ``safetensors`` like any weight.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from igcl.data.imageshards.reader import normalize_images

# At most this many images enter the fit (a seeded draw of the training images beyond it): the top components of
# chest radiographs are stable long before that, and the fit stays seconds on real MIMIC-CXR.
MAX_FIT_IMAGES = 20_000


class PixelPCA(nn.Module):
    """``[B, 1, S, S]`` -> ``[B, K]``: projection onto the top ``K`` principal components of the fit images."""

    def __init__(self, image_size: int, components: int):
        super().__init__()
        if components < 1 or image_size < 1:
            raise ValueError(f"PixelPCA: components and image_size must be >= 1, got {components}, {image_size}")
        self.image_size = image_size
        self.num_features = components
        self.register_buffer("mean", torch.zeros(image_size * image_size))
        self.register_buffer("components", torch.zeros(components, image_size * image_size))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or tuple(images.shape[1:]) != (1, self.image_size, self.image_size):
            raise ValueError(f"PixelPCA: expected [B, 1, {self.image_size}, {self.image_size}] images, "
                             f"got {list(images.shape)}")
        flat = images.float().flatten(1) - self.mean
        return flat @ self.components.T


def fit_pixel_pca(images: np.ndarray, components: int, *, seed: int = 0, where: str = "fit_pixel_pca") -> PixelPCA:
    """Fit a :class:`PixelPCA` on uint8 ``images`` ``[N, S, S]`` (sklearn's exact full SVD; deterministic).

    Raises ValueError naming ``where`` (the image shard) when there are fewer images than components (the extra
    components would be noise or zero).
    """
    from sklearn.decomposition import PCA

    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"{where}: expected uint8 images [N, S, S], got {list(images.shape)}")
    n, size = images.shape[0], images.shape[1]
    if n < components:
        raise ValueError(f"{where}: {n} training images cannot give {components} principal components "
                         "(lower pretrain.pixels.components or pretrain on more images)")
    if n > MAX_FIT_IMAGES:
        keep = np.sort(np.random.default_rng(seed).choice(n, MAX_FIT_IMAGES, replace=False))
        images = images[keep]
    x = normalize_images(np.asarray(images)).flatten(1).numpy().astype(np.float64)
    pca = PCA(n_components=components, svd_solver="full").fit(x)
    # sklearn fixes each component's sign (svd_flip), so the same images give the same encoder
    encoder = PixelPCA(size, components)
    encoder.mean.copy_(torch.from_numpy(pca.mean_).float())
    encoder.components.copy_(torch.from_numpy(pca.components_).float())
    return encoder
