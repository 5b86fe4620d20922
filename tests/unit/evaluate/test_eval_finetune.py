"""End-to-end fine-tuning: the encoder really trains, the run is seeded, the frozen encoder is untouched."""

import numpy as np
import pytest
import timm
import torch

from evaldata_builders import draw_image
from igcl.data.imageshards.reader import normalize_images
from igcl.evaluate.finetune import finetune_scores, masked_bce
from igcl.evaluate.metrics import auroc


def data(n=48, seed=0):
    # 32 px: draw_image's five bands (rows 6p..6p+4) all fit; at 16 px pathology 3's band was cut off
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 5)) < 0.4).astype(np.float32)
    images = np.stack([draw_image(y, rng, size=32) for y in labels])
    return images, labels


def test_masked_bce_ignores_nan_targets():
    logits = torch.tensor([[0.0, 5.0]])
    full = masked_bce(logits, torch.tensor([[1.0, float("nan")]]))
    assert torch.isclose(full, torch.log(torch.tensor(2.0)))


@pytest.fixture
def one_torch_thread():
    # two threads on this shared 2-core machine spin against other jobs: 10x slower for tiny convolutions
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_finetune_learns_is_seeded_and_leaves_the_encoder_alone(one_torch_thread):
    images, labels = data()
    torch.manual_seed(0)  # test-local: timm draws the encoder's initial weights from torch's global generator
    encoder = timm.create_model("test_resnet", in_chans=1, num_classes=0, pretrained=False)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    train, test = np.arange(32), np.arange(32, 48)
    targets = labels[train].copy()
    targets[:3, 0] = np.nan  # uncertain-ignored entries are masked, not trained on
    targets[:, 4] = 0.0      # no positive for the last pathology: no scores for it
    kwargs = dict(epochs=3, batch_size=8, lr=1e-3, head_lr=1e-2, weight_decay=0.0, device=torch.device("cpu"),
                  image_size=None)
    a = finetune_scores(encoder, 96, images, normalize_images, train, targets, test, seed=0, **kwargs)
    b = finetune_scores(encoder, 96, images, normalize_images, train, targets, test, seed=0, **kwargs)
    assert a.shape == (16, 5) and np.isnan(a[:, 4]).all() and np.isfinite(a[:, :4]).all()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    # the bands are easy: the fine-tuned model ranks the test images well above chance (0.79-0.89 on average over
    # ten initialisations of the encoder, each pathology >= 0.62)
    assert np.mean([auroc(labels[test, p], a[:, p]) for p in range(4)]) > 0.7
