"""ContrastiveLoss against hand-computed values."""

import math

import pytest
import torch
import torch.nn.functional as F

from igcl.losses import ContrastiveLoss


def test_matches_hand_computed_3x3():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    v = torch.tensor([[0.8, 0.6], [0.28, 0.96], [1.0, 0.0]])
    tau, lam = 0.5, 0.75
    sims = [[sum(a * b for a, b in zip(ui, vj)) for vj in v.tolist()] for ui in u.tolist()]

    def ce(rows):
        return sum(-rows[i][i] / tau + math.log(sum(math.exp(s / tau) for s in rows[i])) for i in range(3)) / 3

    i2o = ce(sims)
    o2i = ce([list(col) for col in zip(*sims)])
    out = ContrastiveLoss(temperature=tau, image_to_other_weight=lam)(u, v)
    assert out["loss_image_to_other"].item() == pytest.approx(i2o, rel=1e-6)
    assert out["loss_other_to_image"].item() == pytest.approx(o2i, rel=1e-6)
    assert out["loss"].item() == pytest.approx(lam * i2o + (1 - lam) * o2i, rel=1e-6)
    assert i2o != pytest.approx(o2i)  # the example is asymmetric, so lambda matters


def test_learned_temperature_gets_gradient_and_is_clamped():
    loss = ContrastiveLoss(temperature=0.07, learn_temperature=True, max_logit_scale=100.0)
    u = F.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    loss(u, u.flip(0))["loss"].backward()
    assert loss.log_logit_scale.grad is not None
    with torch.no_grad():
        loss.log_logit_scale.fill_(10.0)
    assert loss.logit_scale.item() == pytest.approx(100.0)
    fixed = ContrastiveLoss(temperature=0.1)
    assert not fixed.log_logit_scale.requires_grad and fixed.temperature == pytest.approx(0.1)


@pytest.mark.parametrize("kwargs,match", [({"temperature": 0}, "temperature"),
                                          ({"image_to_other_weight": 1.5}, "image_to_other_weight"),
                                          ({"temperature": 0.001}, "max_logit_scale"),
                                          ({"rank": 2, "world_size": 2}, "rank")])
def test_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ContrastiveLoss(**kwargs)
