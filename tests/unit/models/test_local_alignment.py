"""LoVT's local loss against a hand-computed case, its smoothing weights against their formula, masking, gradients."""

import math

import numpy as np
import pytest
import torch

from igcl.models.local_alignment import (LOCAL_LOSS_NAMES, AttentionPool, CrossAttention, LocalAlignmentLoss,
                                         spatial_positive_weights)


def _logsumexp(x):
    m = max(x)
    return m + math.log(sum(math.exp(v - m) for v in x))


def _softmax_rows(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _nce_by_hand(x, y, positives, weights, tau):
    """Both directions of the intra-sample InfoNCE, written out item by item."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    v = y / np.linalg.norm(y, axis=1, keepdims=True)
    n = len(u)
    s = [[float(u[i] @ v[j]) / tau for j in range(n)] for i in range(n)]
    forward = backward = 0.0
    for i in range(n):
        row, column = [s[i][j] for j in range(n)], [s[j][i] for j in range(n)]
        forward += weights[i] * (-sum(positives[i][j] * row[j] for j in range(n)) + _logsumexp(row))
        backward += weights[i] * (-sum(positives[i][j] * column[j] for j in range(n)) + _logsumexp(column))
    return forward, backward


def test_loss_on_a_hand_computed_case():
    # 2 samples x 4 regions on a 1x4 grid, D = 3; sample 0 has 2 real parts of 3, sample 1 all 3
    g = torch.Generator().manual_seed(0)
    regions = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    parts = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    region_weights = torch.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 1.0, 2.0, 0.0]], dtype=torch.float64)
    tau = 0.3
    loss = LocalAlignmentLoss(3, temperature=tau, project_attention=False, attention_norm=None)
    out = loss(regions, parts, mask, grid=(1, 4), region_weights=region_weights)
    assert tuple(out) == LOCAL_LOSS_NAMES

    # the 1x4 grid's diagonal is sqrt(1 + 16); cells 0, 1, 2 apart are within half of it (2/sqrt(17) = 0.485),
    # 3 apart are not (0.728)
    diag = math.sqrt(17)
    positives = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if abs(i - j) <= 2:
                positives[i, j] = math.exp(-abs(i - j) / diag)
    positives /= positives.sum(axis=1, keepdims=True)

    expected = dict.fromkeys(LOCAL_LOSS_NAMES, 0.0)
    for b in range(2):
        a = regions[b].numpy()
        p = parts[b][mask[b]].numpy()
        scores = a @ p.T / math.sqrt(3)                     # scaled dot product, no projections
        attended_regions = _softmax_rows(scores) @ p        # [4, 3]: each region's view of the report
        attended_parts = _softmax_rows(scores.T) @ a        # [S_b, 3]: each part's view of the image
        w = region_weights[b].numpy() / region_weights[b].numpy().sum()
        fwd, bwd = _nce_by_hand(a, attended_regions, positives, w, tau)
        expected["local_regions_to_attended"] += fwd / 2
        expected["local_attended_to_regions"] += bwd / 2
        k = len(p)
        fwd, bwd = _nce_by_hand(p, attended_parts, np.eye(k), np.full(k, 1 / k), tau)
        expected["local_parts_to_attended"] += fwd / 2
        expected["local_attended_to_parts"] += bwd / 2
    for name in LOCAL_LOSS_NAMES:
        assert out[name].item() == pytest.approx(expected[name], rel=1e-10), name


def test_smoothing_weights_match_their_formula():
    h, w = 7, 5
    weights = spatial_positive_weights(h, w, distance_threshold=0.5, smooth_lambda=1.0)
    assert weights.shape == (35, 35)
    diag = math.hypot(h, w)
    for i in range(35):
        for j in range(35):
            d = math.hypot(i // w - j // w, i % w - j % w) / diag
            assert weights[i, j].item() == pytest.approx(math.exp(-d) if d <= 0.5 else 0.0, abs=1e-6)
    # lambda = the diagonal gives exp(-d) in grid cells; threshold 0: each region its own only positive
    cells = spatial_positive_weights(h, w, smooth_lambda=diag)
    assert cells[0, 1].item() == pytest.approx(math.exp(-1.0)) and cells[0, w + 1].item() == pytest.approx(
        math.exp(-math.sqrt(2)))
    assert torch.equal(spatial_positive_weights(3, 3, distance_threshold=0.0), torch.eye(9, dtype=torch.float64))
    # a 2x2 grid's opposite corners are exactly half the diagonal apart: in
    assert (spatial_positive_weights(2, 2) > 0).all()
    rows = LocalAlignmentLoss(4).region_positives(h, w)
    torch.testing.assert_close(rows.sum(dim=1), torch.ones(35, dtype=torch.float64))


def test_masked_parts_are_ignored():
    g = torch.Generator().manual_seed(1)
    regions, parts = torch.randn(3, 6, 8, generator=g), torch.randn(3, 4, 8, generator=g)
    mask = torch.tensor([[True, True, False, False], [True, True, True, False], [True, True, True, True]])
    loss = LocalAlignmentLoss(8)
    first = loss(regions, parts, mask, grid=(2, 3))
    scrambled = parts.clone()
    scrambled[~mask] = 1e3 * torch.randn(int((~mask).sum()), 8, generator=g)
    second = loss(regions, scrambled, mask, grid=(2, 3), part_weights=torch.where(mask, 1.0, 123.0))
    for name in LOCAL_LOSS_NAMES:
        torch.testing.assert_close(first[name], second[name])
    # and a padded batch gives what the unpadded sample gives alone
    alone = loss(regions[:1], parts[:1, :2], mask[:1, :2], grid=(2, 3))
    together = loss(regions[:1], parts[:1], mask[:1], grid=(2, 3))
    for name in LOCAL_LOSS_NAMES:
        torch.testing.assert_close(alone[name], together[name])


def test_samples_without_parts_drop_out_and_gradients_flow():
    g = torch.Generator().manual_seed(2)
    regions = torch.randn(2, 4, 8, generator=g, requires_grad=True)
    parts = torch.randn(2, 3, 8, generator=g, requires_grad=True)
    mask = torch.tensor([[True, True, True], [False, False, False]])
    weights = torch.rand(2, 4, generator=g, requires_grad=True)
    loss = LocalAlignmentLoss(8)
    out = loss(regions, parts, mask, grid=(2, 2), region_weights=weights)
    sum(out.values()).backward()
    for tensor in (regions, parts):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    assert regions.grad[0].abs().sum() > 0 and parts.grad[0].abs().sum() > 0
    assert regions.grad[1].abs().sum() == 0 and parts.grad[1].abs().sum() == 0   # dropped sample
    assert weights.grad is None                                                   # stop-gradient
    grads = [p.grad for p in loss.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads) and any(gr.abs().sum() > 0 for gr in grads)
    only_first = loss(regions[:1], parts[:1], mask[:1], grid=(2, 2), region_weights=weights[:1])
    for name in LOCAL_LOSS_NAMES:
        torch.testing.assert_close(out[name], only_first[name])
    empty = loss(regions, parts, torch.zeros(2, 3, dtype=torch.bool), grid=(2, 2))
    assert all(v.item() == 0.0 for v in empty.values())


@pytest.mark.parametrize("regions, parts, mask, grid, message", [
    ((2, 4, 8), (2, 3, 8), (2, 3), (2, 3), "does not hold the 4 regions"),
    ((2, 4, 8), (3, 3, 8), (3, 3), (2, 2), "same batch size"),
    ((2, 4, 8), (2, 3, 5), (2, 3), (2, 2), "width D = 8"),
    ((2, 4), (2, 3, 8), (2, 3), (2, 2), r"\[B, R, D\]"),
    ((2, 4, 8), (2, 3, 8), (2, 2), (2, 2), "part_mask must be bool"),
])
def test_bad_shapes_raise(regions, parts, mask, grid, message):
    with pytest.raises(ValueError, match=message):
        LocalAlignmentLoss(8)(torch.zeros(regions), torch.zeros(parts), torch.ones(mask, dtype=torch.bool),
                              grid=grid)


def test_bad_options_and_weights_raise():
    with pytest.raises(ValueError, match="temperature"):
        LocalAlignmentLoss(8, temperature=0.0)
    with pytest.raises(ValueError, match="norm"):
        CrossAttention(8, norm="batch")
    loss = LocalAlignmentLoss(8)
    args = (torch.zeros(2, 4, 8), torch.zeros(2, 3, 8), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="region_weights must be"):
        loss(*args, grid=(2, 2), region_weights=torch.ones(2, 3))
    with pytest.raises(ValueError, match="part_weights must be >= 0"):
        loss(*args, grid=(2, 2), part_weights=-torch.ones(2, 3))
    with pytest.raises(ValueError, match="part_mask must be bool"):
        loss(args[0], args[1], torch.ones(2, 3), grid=(2, 2))


def test_attention_pool_weights():
    pool = AttentionPool(4)
    x = torch.randn(2, 5, 4)
    mask = torch.tensor([[True, True, False, False, False], [False] * 5])
    pooled, weights = pool(x, mask)
    assert pooled.shape == (2, 4) and weights.shape == (2, 5)
    torch.testing.assert_close(weights[0].sum(), torch.tensor(1.0))
    assert (weights[0, 2:] == 0).all() and (weights[1] == 0).all() and (pooled[1] == 0).all()
    torch.testing.assert_close(pooled[0], (weights[0, :, None] * x[0]).sum(0))
    assert "AttentionPool(dim=4)" == repr(pool)
