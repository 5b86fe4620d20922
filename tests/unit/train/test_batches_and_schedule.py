"""Batch plan, rank slicing, seeded augmentation, LR schedule and the distributed environment."""

import pytest
import torch
from pretrain_helpers import tiny_config

from igcl.data.imageshards.reader import ImageShard
from igcl.train.augment import apply_augment, draw_params
from igcl.train.config import AugmentSettings, PretrainConfig
from igcl.train.data import BatchPlan, MicroBatches, split_pairs
from igcl.train.distributed import WorldInfo, world_info_from_env
from igcl.train.schedule import cosine_with_warmup_factor


def test_batch_plan_counts_and_checks():
    plan = BatchPlan(num_pairs=130, batch_size=32, accum_steps=2, world_size=2, epochs=3)
    assert (plan.steps_per_epoch, plan.total_steps, plan.micro_size, plan.local_size) == (4, 12, 16, 8)
    with pytest.raises(ValueError, match="not divisible by grad_accum_steps x world size"):
        BatchPlan(num_pairs=130, batch_size=30, accum_steps=4, world_size=1, epochs=1)
    with pytest.raises(ValueError, match="the training split has 10 pairs, fewer than one batch of 32"):
        BatchPlan(num_pairs=10, batch_size=32, accum_steps=1, world_size=1, epochs=1)


def test_ranks_split_the_single_process_batches(synthetic_inputs):
    shard = ImageShard(synthetic_inputs.images, synthetic_inputs.image_index)
    pairs = split_pairs(shard, "train")
    aug = AugmentSettings()

    def batches(world, accum):
        plan = BatchPlan(len(pairs), 16, accum, world.world_size, 2)
        return MicroBatches(shard, pairs, plan, seed=0, world=world, augment=aug, collate_other=None)

    one = batches(WorldInfo(0, 0, 1), 1)
    ranks = [batches(WorldInfo(r, r, 2), 1) for r in range(2)]
    for k in (0, 5, len(one) - 1):  # crosses an epoch boundary: a new permutation
        whole = one[k]
        parts = [r[k] for r in ranks]
        assert torch.equal(torch.cat([p["images"] for p in parts]), whole["images"])
        assert torch.equal(torch.cat([p["other"] for p in parts]), whole["other"])
    # every epoch visits each pair at most once; the epochs are shuffled differently
    epoch0 = torch.cat([one.indices(s, 0) for s in range(one.plan.steps_per_epoch)])
    epoch1 = torch.cat([one.indices(s, 0) for s in range(one.plan.steps_per_epoch, 2 * one.plan.steps_per_epoch)])
    assert len(set(epoch0.tolist())) == len(epoch0) and not torch.equal(epoch0, epoch1)
    # image_only's two views differ; a resumed stream restarts exactly at its step
    assert not torch.equal(whole["images"], whole["other"])
    resumed = MicroBatches(shard, pairs, one.plan, seed=0, world=WorldInfo(0, 0, 1), augment=aug,
                           collate_other=None, start_step=5)
    assert torch.equal(resumed[0]["images"], one[5]["images"])


def test_augment_is_seeded_and_identity_without_jitter():
    images = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    settings = AugmentSettings()
    a = apply_augment(images, draw_params(4, settings, torch.Generator().manual_seed(1)))
    b = apply_augment(images, draw_params(4, settings, torch.Generator().manual_seed(1)))
    c = apply_augment(images, draw_params(4, settings, torch.Generator().manual_seed(2)))
    assert torch.equal(a, b) and not torch.equal(a, c)
    identity = AugmentSettings(crop_scale_min=1.0, max_aspect=1.0, brightness=0.0, contrast=0.0)
    same = apply_augment(images, draw_params(4, identity, torch.Generator().manual_seed(1)))
    torch.testing.assert_close(same, images, atol=1e-5, rtol=0)


def test_cosine_with_warmup():
    f = lambda s: cosine_with_warmup_factor(s, total_steps=110, warmup_steps=10)  # noqa: E731
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0)
    assert cosine_with_warmup_factor(110, total_steps=110, warmup_steps=10, min_lr_ratio=0.1) == pytest.approx(0.1)


def test_world_info_from_env(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID"):
        monkeypatch.delenv(name, raising=False)
    assert world_info_from_env() == WorldInfo(0, 0, 1)
    monkeypatch.setenv("SLURM_NTASKS", "4")
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_LOCALID", "1")
    assert world_info_from_env() == WorldInfo(1, 3, 4)
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun's variables win
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = world_info_from_env()
    assert info == WorldInfo(1, 1, 2) and info.distributed and not info.is_main
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="bad distributed environment"):
        world_info_from_env()


@pytest.mark.parametrize("values,match", [
    ({"batch_size": 30, "grad_accum_steps": 4}, "must be a multiple of grad_accum_steps"),
    ({"graph": {"pooling": "rgcn_mean"}}, "transformer_layers must be 0 with pooling 'rgcn_mean'"),
    ({"graph": {"pooling": "reaction_node", "transformer_layers": 0}},
     "pretrain.graph.pooling 'reaction_node' was renamed 'dummy_readout'"),
    ({"graph": {"virtual_nodes_when": "isolated_node"}}, "virtual_nodes_when 'isolated_node' applies to the layouts"),
    ({"graph": {"pooling": "rgcn_mean", "transformer_layers": 0, "dropout": 0.1}}, "ffn_dim and dropout size a"),
    ({"precision": "fp16"}, "pretrain.precision must be one of"),
    ({"loss": {"image_to_other_weight": 2}}, "image_to_other_weight must be in"),
    ({"epochs": 0}, "pretrain.epochs must be > 0"),
    ({"bogus": 1}, r"unknown key\(s\) \['bogus'\]"),
])
def test_config_rejects_bad_values(values, match):
    with pytest.raises(ValueError, match=match):
        tiny_config(**values)
    assert isinstance(tiny_config(), PretrainConfig)
