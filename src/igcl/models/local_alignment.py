"""LoVT's local alignment (Müller et al. 2022, philip-mueller/lovt): regions of the image and parts of the report
(sentences for LoVT, graph nodes for igcl_local) attend to each other, and each is contrasted with what it
attended to against the other local items of its own sample.

Shapes: ``regions`` [B, R, D] on an h×w grid (R = h·w, row-major), ``parts`` [B, S, D] with ``part_mask`` [B, S]
(True = a real part; padding is False). Optional ``region_weights`` [B, R] and ``part_weights`` [B, S]: the
attention-pooling weights of each side's encoder (:class:`AttentionPool`), used with stop-gradient.

Cross-attention (:class:`CrossAttention`, LoVT's symmetric form): one key projection K, one value projection V and
one output projection O shared by both directions (identities when ``project=False``), then a norm:

    score[b, i, j]  = K(region_i) · K(part_j) / sqrt(D)                 padded parts: -inf
    region'_i       = norm(O(Σ_j softmax_j(score[b, i, :]) V(part_j)))   [B, R, D]: the report seen from region i
    part'_j         = norm(O(Σ_i softmax_i(score[b, :, j]) V(region_i))) [B, S, D]: the image seen from part j

Local loss (LoVT's ``LocalIntraSampleContrastiveLoss``), per sample, for the regions with u = l2norm(region),
v = l2norm(region'), s_ij = u_i · v_j / τ (τ 0.3) and positive weights P (below):

    l(regions→attended)_i = -Σ_j P_ij s_ij + log Σ_j exp(s_ij)
    l(attended→regions)_i = -Σ_j P_ij s_ji + log Σ_j exp(s_ji)
    loss = mean_b Σ_i w_bi l_bi,      w = stop_grad(region_weights), normalised to sum 1 per sample (uniform if None)

and the same for the parts with u = l2norm(part), v = l2norm(part'), padded parts left out of every sum and
P = identity (a part's only positive is its own attended image). The negatives are the other items of the same
sample only (no cross-sample negatives), as LoVT.

Spatial smoothing (:func:`spatial_positive_weights`): with d_ij the distance between the centres of grid cells
i and j divided by the grid diagonal sqrt(h² + w²), regions with d_ij ≤ ``distance_threshold`` (0.5: within half
the diagonal) are positives weighted exp(-λ·d_ij) (λ = ``smooth_lambda`` = 1), each row normalised to sum 1.
This is LoVT's unit (distances relative to the diagonal: a neighbour one cell away on a 7×7 grid weighs
exp(-1/9.9) ≈ 0.90 before normalisation); ``smooth_lambda = sqrt(h² + w²)`` gives exp(-d) with d in grid cells.

Samples without a part (an empty report or graph) have nothing to attend to: they are left out of the loss
(and of its mean over the batch). Memory: the score matrices are [B, R, S] and [B, R, R], [B, S, S].

The loss weights LoVT trains with are 0.375 on each of the four terms (and 0.75 / 0.25 on the global ones, τ 0.1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOCAL_LOSS_NAMES = ("local_regions_to_attended", "local_attended_to_regions", "local_parts_to_attended",
                    "local_attended_to_parts")
LOVT_LOCAL_WEIGHTS = dict.fromkeys(LOCAL_LOSS_NAMES, 0.375)
NORMS = ("layer", None)


def spatial_positive_weights(height: int, width: int, *, distance_threshold: float = 0.5,
                             smooth_lambda: float = 1.0) -> torch.Tensor:
    """[R, R] float64 (R = height·width, row-major cells): exp(-λ·d_ij) where d_ij ≤ ``distance_threshold``, else
    0, with d_ij the cell-centre distance over the grid diagonal sqrt(h² + w²); not yet row-normalised."""
    if height < 1 or width < 1:
        raise ValueError(f"grid must be at least 1x1, got {height}x{width}")
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64),
                                indexing="ij")
    coords = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)
    distance = torch.cdist(coords, coords) / math.hypot(height, width)
    # a hair of tolerance: a cell exactly at the threshold (e.g. a 2x2 grid's opposite corner) is in, whatever
    # the rounding of the square roots
    inside = distance <= distance_threshold + 1e-9
    return inside * torch.exp(-smooth_lambda * distance)


class AttentionPool(nn.Module):
    """Attention pooling of local features: ``forward(x [B, N, D], mask [B, N] | None)`` returns the pooled
    ``[B, D]`` and the weights ``[B, N]`` (softmax over the valid items of ``q · x_n / sqrt(D)``, q learned),
    the weights LoVT's local losses are weighted by."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = dim
        self.query = nn.Parameter(torch.empty(dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.query, std=self.dim ** -0.5)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        scores = x @ self.query / math.sqrt(self.dim)  # [B, N]
        if mask is None:
            weights = torch.softmax(scores, dim=1)
        else:
            used = mask.any(dim=1, keepdim=True)  # a sample with no valid item gets weights 0 (and no NaN grad)
            weights = torch.softmax(scores.masked_fill(~(mask | ~used), float("-inf")), dim=1) * used
        return torch.einsum("bn,bnd->bd", weights, x), weights

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class CrossAttention(nn.Module):
    """LoVT's symmetric cross-attention between regions [B, R, D] and parts [B, S, D] (update rule in the module
    docstring). ``project``: learn K, V, O (LoVT) or use identities (a parameter-free scaled dot product);
    ``norm``: ``"layer"`` or None on the attended features."""

    def __init__(self, dim: int, *, project: bool = True, norm: str | None = "layer") -> None:
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.dim, self.project, self.norm_name = dim, project, norm
        self.key = nn.Linear(dim, dim) if project else nn.Identity()
        self.value = nn.Linear(dim, dim) if project else nn.Identity()
        self.output = nn.Linear(dim, dim) if project else nn.Identity()
        self.norm = nn.LayerNorm(dim) if norm == "layer" else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.key, self.value, self.output):
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="linear")  # as LoVT
                nn.init.zeros_(layer.bias)
        if isinstance(self.norm, nn.LayerNorm):
            self.norm.reset_parameters()

    def scores(self, regions: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
        """[B, R, S]: K(region_i) · K(part_j) / sqrt(D) (also the similarity map for zero-shot grounding)."""
        return self.key(regions) @ self.key(parts).transpose(1, 2) / math.sqrt(self.dim)

    def forward(self, regions: torch.Tensor, parts: torch.Tensor, part_mask: torch.Tensor,
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(regions' attended parts [B, R, D], parts' attended regions [B, S, D]); rows of samples without a part,
        and of padded parts, are zero before the output projection."""
        scores = self.scores(regions, parts)
        used = part_mask.any(dim=1, keepdim=True)  # [B, 1]
        # a sample without a part attends to its padding and is zeroed after: an all -inf row would put NaN in
        # the backward pass, which nan_to_num after the softmax does not stop
        safe = part_mask | ~used
        to_parts = torch.softmax(scores.masked_fill(~safe[:, None, :], float("-inf")), dim=2) * used[:, :, None]
        to_regions = torch.softmax(scores.transpose(1, 2), dim=2) * part_mask[:, :, None]
        attended_regions = self.norm(self.output(to_parts @ self.value(parts)))
        attended_parts = self.norm(self.output(to_regions @ self.value(regions)))
        return attended_regions, attended_parts

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, project={self.project}, norm={self.norm_name!r})"


def _intra_sample_nce(local: torch.Tensor, attended: torch.Tensor, positives: torch.Tensor, weights: torch.Tensor,
                      valid: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Both directions of the intra-sample InfoNCE, summed over items with ``weights`` [B, N] (0 on invalid items,
    rows summing to 1) → per-sample [B] each. ``positives`` [B, N, N] row-normalised, 0 on invalid columns;
    ``valid`` [B, N] marks real items (the others are left out of the log-sum-exp)."""
    u, v = F.normalize(local, dim=-1), F.normalize(attended, dim=-1)
    scores = u @ v.transpose(1, 2) / temperature  # [B, N, N]: s_ij = u_i . v_j
    pad = (~valid)[:, None, :]
    forward = -(positives * scores).sum(-1) + torch.logsumexp(scores.masked_fill(pad, float("-inf")), dim=-1)
    backward_scores = scores.transpose(1, 2)
    backward = (-(positives * backward_scores).sum(-1)
                + torch.logsumexp(backward_scores.masked_fill(pad, float("-inf")), dim=-1))
    # invalid rows have weight 0; their log-sum-exp may be finite garbage, never NaN (every sample used has a
    # valid column), but zero them before the product so a -inf row cannot make 0 * inf
    forward = torch.where(valid, forward, torch.zeros_like(forward))
    backward = torch.where(valid, backward, torch.zeros_like(backward))
    return (weights * forward).sum(-1), (weights * backward).sum(-1)


def _normalised_weights(weights: torch.Tensor | None, valid: torch.Tensor, name: str,
                        dtype: torch.dtype) -> torch.Tensor:
    if weights is None:
        weights = valid.to(dtype)
    else:
        if weights.shape != valid.shape:
            raise ValueError(f"{name} must be {tuple(valid.shape)}, got {tuple(weights.shape)}")
        weights = weights.detach().to(dtype) * valid  # stop-gradient, as LoVT
        if (weights < 0).any():
            raise ValueError(f"{name} must be >= 0")
    total = weights.sum(-1, keepdim=True)
    return weights / total.clamp_min(1e-12)


class LocalAlignmentLoss(nn.Module):
    """LoVT's local loss (update rule, shapes and smoothing in the module docstring).

    ``forward(regions, parts, part_mask, *, grid, region_weights=None, part_weights=None)`` returns a dict with
    the four scalar losses :data:`LOCAL_LOSS_NAMES` (weight them with e.g. :data:`LOVT_LOCAL_WEIGHTS`).

    Args:
        dim: D, the local features' width (both sides projected to it).
        temperature: τ of the intra-sample InfoNCE (LoVT: 0.3).
        distance_threshold, smooth_lambda: the spatial smoothing of the region positives (LoVT: 0.5, 1.0);
            ``distance_threshold=0`` makes a region its only positive (LoVT's ablation without smoothing).
        project_attention, attention_norm: of the :class:`CrossAttention`.
    """

    def __init__(self, dim: int, *, temperature: float = 0.3, distance_threshold: float = 0.5,
                 smooth_lambda: float = 1.0, project_attention: bool = True,
                 attention_norm: str | None = "layer") -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if distance_threshold < 0 or smooth_lambda < 0:
            raise ValueError(f"distance_threshold and smooth_lambda must be >= 0, got {distance_threshold}, "
                             f"{smooth_lambda}")
        self.dim, self.temperature = dim, temperature
        self.distance_threshold, self.smooth_lambda = distance_threshold, smooth_lambda
        self.attention = CrossAttention(dim, project=project_attention, norm=attention_norm)
        self._grid_weights: dict[tuple[int, int], torch.Tensor] = {}

    def reset_parameters(self) -> None:
        self.attention.reset_parameters()

    def region_positives(self, height: int, width: int) -> torch.Tensor:
        """[R, R] row-normalised positive weights of an h×w grid (cached per grid)."""
        if (height, width) not in self._grid_weights:
            weights = spatial_positive_weights(height, width, distance_threshold=self.distance_threshold,
                                               smooth_lambda=self.smooth_lambda)
            self._grid_weights[(height, width)] = weights / weights.sum(-1, keepdim=True)
        return self._grid_weights[(height, width)]

    def _check(self, regions: torch.Tensor, parts: torch.Tensor, part_mask: torch.Tensor,
               grid: tuple[int, int]) -> None:
        if regions.ndim != 3 or parts.ndim != 3:
            raise ValueError(f"regions and parts must be [B, R, D] and [B, S, D], got {tuple(regions.shape)} "
                             f"and {tuple(parts.shape)}")
        if regions.shape[0] != parts.shape[0] or regions.shape[2] != self.dim or parts.shape[2] != self.dim:
            raise ValueError(f"regions {tuple(regions.shape)} and parts {tuple(parts.shape)} need the same batch "
                             f"size and width D = {self.dim}")
        if part_mask.dtype != torch.bool or part_mask.shape != parts.shape[:2]:
            raise ValueError(f"part_mask must be bool {tuple(parts.shape[:2])}, got {part_mask.dtype} "
                             f"{tuple(part_mask.shape)}")
        if len(grid) != 2 or grid[0] * grid[1] != regions.shape[1]:
            raise ValueError(f"grid {tuple(grid)} does not hold the {regions.shape[1]} regions (R = h*w)")

    def forward(self, regions: torch.Tensor, parts: torch.Tensor, part_mask: torch.Tensor, *,
                grid: tuple[int, int], region_weights: torch.Tensor | None = None,
                part_weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        self._check(regions, parts, part_mask, grid)
        attended_regions, attended_parts = self.attention(regions, parts, part_mask)
        used = part_mask.any(dim=1)  # [B]: samples with a part
        batch, n_regions, n_parts = regions.shape[0], regions.shape[1], parts.shape[1]
        all_regions = torch.ones(batch, n_regions, dtype=torch.bool, device=regions.device)
        region_pos = self.region_positives(*grid).to(regions.device, regions.dtype).expand(batch, -1, -1)
        part_pos = torch.diag_embed(part_mask.to(parts.dtype))  # identity on real parts, rows sum to 1
        r_weights = _normalised_weights(region_weights, all_regions, "region_weights", regions.dtype)
        p_weights = _normalised_weights(part_weights, part_mask, "part_weights", parts.dtype)
        # a sample without a part: give it one fake valid column so nothing is -inf, then drop it below
        safe_mask = part_mask | ~used[:, None] & (torch.arange(n_parts, device=parts.device) == 0)
        r_fwd, r_bwd = _intra_sample_nce(regions, attended_regions, region_pos, r_weights, all_regions,
                                         self.temperature)
        p_fwd, p_bwd = _intra_sample_nce(parts, attended_parts, part_pos, p_weights, safe_mask, self.temperature)
        count = used.sum()

        def batch_mean(per_sample: torch.Tensor) -> torch.Tensor:
            total = torch.where(used, per_sample, torch.zeros_like(per_sample)).sum()
            return total / count.clamp_min(1)  # no sample with a part: 0, still attached to the graph

        return dict(zip(LOCAL_LOSS_NAMES, (batch_mean(r_fwd), batch_mean(r_bwd), batch_mean(p_fwd),
                                           batch_mean(p_bwd))))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dim={self.dim}, temperature={self.temperature}, "
                f"distance_threshold={self.distance_threshold}, smooth_lambda={self.smooth_lambda}, "
                f"attention={self.attention!r})")
