"""How pretraining starts its image encoder: from a local weights file (pretrain.image.weights) and frozen for the
first optimizer steps (pretrain.image.freeze_steps), across a kill and resume too."""

import dataclasses
import logging

import pytest
import timm
import torch
from pretrain_helpers import tiny_config
from safetensors.torch import load_file, save_file

from igcl.models.checkpoint import load_pretrained
from igcl.models.dual import ModelSpec, build_model
from igcl.train.loop import TrainingInterrupted, pretrain
from igcl.train.state import latest_checkpoint

SPEC = ModelSpec(method="image_only", image_model="test_resnet", image_size=32, projection_dim=32)


def image_state(state, prefix="image_encoder."):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def resume_weights(out):
    return load_file(str(latest_checkpoint(out) / "model.safetensors"))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


@pytest.fixture
def rgb_weights(tmp_path):
    torch.manual_seed(11)
    model = timm.create_model("test_resnet", in_chans=3, pretrained=False)
    path = tmp_path / "test_resnet_rgb.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def test_pretraining_starts_from_the_file_and_evaluation_needs_only_the_checkpoint(synthetic_inputs, tmp_path,
                                                                                   rgb_weights):
    config = tiny_config(image={"weights": str(rgb_weights)})
    out = pretrain(config, "random", synthetic_inputs, tmp_path / "random")  # the loaded encoder, untrained
    spec = dataclasses.replace(SPEC, method="random")
    start = build_model(spec, seed=0, image_weights=str(rgb_weights)).state_dict()
    file = load_file(str(rgb_weights))
    assert_same(image_state(load_file(str(out / "checkpoint.safetensors"))), image_state(start))
    torch.testing.assert_close(start["image_encoder.conv1.0.weight"], file["conv1.0.weight"].sum(1, keepdim=True))
    random_init = build_model(spec, seed=0).state_dict()
    # only the image encoder comes from the file: the projections are the seed's, as without weights
    assert_same({k: v for k, v in start.items() if k.startswith("image_projection.")},
                {k: v for k, v in random_init.items() if k.startswith("image_projection.")})
    rgb_weights.unlink()  # evaluation rebuilds the model with random init and loads the checkpoint's weights
    loaded = load_pretrained(out)
    assert_same(image_state(loaded.model.state_dict()), image_state(start))


def test_a_resume_state_from_another_weights_file_is_discarded(synthetic_inputs, tmp_path, rgb_weights, caplog):
    out = tmp_path / "out"
    config = tiny_config(checkpoint_every=2, image={"weights": str(rgb_weights)})
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=2)
    torch.manual_seed(12)  # other weights at the same path (Snakemake reruns the job: the file is an input)
    model = timm.create_model("test_resnet", in_chans=3, pretrained=False)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(rgb_weights))
    with caplog.at_level(logging.WARNING, logger="igcl.train.loop"), pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=2)
    assert any("image_weights_sha256" in r.getMessage() and "starting afresh" in r.getMessage()
               for r in caplog.records)


def test_a_frozen_image_encoder_is_unchanged_then_trains(synthetic_inputs, tmp_path):
    config = tiny_config(checkpoint_every=4, image={"freeze_steps": 4})
    initial = build_model(SPEC, seed=0).state_dict()
    out = tmp_path / "frozen"
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=4)
    after_freeze = resume_weights(out)
    # parameters and BatchNorm statistics (eval mode) exactly as initialised; the projection head trained
    assert_same(image_state(after_freeze, "model.image_encoder."), image_state(initial))
    assert not torch.equal(after_freeze["model.image_projection.0.weight"], initial["image_projection.0.weight"])
    final = load_file(str(pretrain(config, "image_only", synthetic_inputs, out) / "checkpoint.safetensors"))
    changed = [k for k, v in image_state(final).items() if not torch.equal(v, initial[f"image_encoder.{k}"])]
    assert "conv1.0.weight" in changed and any("running_mean" in k for k in changed)
    # without the freeze, the first 4 steps already move the image encoder
    with pytest.raises(TrainingInterrupted):
        pretrain(tiny_config(checkpoint_every=4), "image_only", synthetic_inputs, tmp_path / "free",
                 stop_after_step=4)
    free = resume_weights(tmp_path / "free")
    assert not torch.equal(free["model.image_encoder.conv1.0.weight"], initial["image_encoder.conv1.0.weight"])


def test_a_run_killed_mid_freeze_resumes_to_the_same_weights(synthetic_inputs, tmp_path):
    config = tiny_config(epochs=1, checkpoint_every=2, image={"freeze_steps": 3})
    straight = pretrain(config, "image_only", synthetic_inputs, tmp_path / "straight")
    killed = tmp_path / "killed"
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, killed, stop_after_step=2)  # step 2 of 3 frozen ones
    assert latest_checkpoint(killed).name == "step-00000002"
    pretrain(config, "image_only", synthetic_inputs, killed)
    a = load_file(str(straight / "checkpoint.safetensors"))
    b = load_file(str(killed / "checkpoint.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)
