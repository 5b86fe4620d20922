"""The pretraining loop end to end on synthetic data: learning, resuming, outputs, and failures."""

import csv
import logging
import re
import shutil

import numpy as np
import pytest
import torch
from pretrain_helpers import tiny_config
from safetensors.torch import load_file

from igcl.losses import ContrastiveLoss
from igcl.models.checkpoint import load_pretrained
from igcl.models.dual import ModelSpec, build_model
from igcl.contracts.schema import GRAPH_SCHEMA, read_table, write_table
from igcl.train.loop import NonFiniteLossError, PretrainInputs, TrainingInterrupted, pretrain
from igcl.train.state import latest_checkpoint


def read_log(out):
    with open(out / "train_log.csv") as fh:
        return list(csv.DictReader(fh))


def weights(out):
    return load_file(str(out / "checkpoint.safetensors"))


@pytest.mark.slow
def test_igcl_lowers_loss_and_beats_chance_at_retrieval(synthetic_inputs, tmp_path):
    out = pretrain(tiny_config(epochs=5, augment={"enabled": False}), "igcl", synthetic_inputs, tmp_path / "igcl")
    rows = read_log(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < 0.5 * first
    chance = float(rows[-1]["val_chance"])
    assert chance == pytest.approx(1 / 18, rel=1e-3)  # 18 held-out (validate) studies, one image each
    assert float(rows[-1]["val_top1"]) >= 4 * chance
    assert not (out / "resume").exists()  # a finished run leaves no resume state behind
    loaded = load_pretrained(out)
    assert loaded.method == "igcl" and loaded.has_report_encoder and loaded.feature_dim == 96
    graphs = read_table(synthetic_inputs.graphs / "part-00000.parquet", GRAPH_SCHEMA).to_pylist()[:5]
    assert loaded.embed_reports(graphs=graphs).shape == (5, 32)


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_weights(synthetic_inputs, tmp_path):
    config = tiny_config(epochs=2, checkpoint_every=3, grad_accum_steps=2,
                         loss={"learn_temperature": True})
    straight = pretrain(config, "igcl", synthetic_inputs, tmp_path / "straight")
    killed = tmp_path / "killed"
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "igcl", synthetic_inputs, killed, stop_after_step=5)  # checkpoint at step 3 only
    assert not (killed / "checkpoint.safetensors").exists() and not (killed / "config.json").exists()
    assert latest_checkpoint(killed).name == "step-00000003"
    pretrain(config, "igcl", synthetic_inputs, killed)
    a, b = weights(straight), weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "pairs_per_s"} for r in rows]  # noqa: E731
    assert drop(read_log(straight)) == drop(read_log(killed))
    assert float(read_log(straight)[-1]["temperature"]) != pytest.approx(0.1)  # the temperature was learned


def test_random_is_the_seeded_untrained_encoder(synthetic_inputs, tmp_path):
    out = pretrain(tiny_config(seed=7), "random", synthetic_inputs, tmp_path / "random")
    assert read_log(out) == []
    spec = ModelSpec(method="random", image_model="test_resnet", image_size=32, projection_dim=32)
    expected = build_model(spec, seed=7).state_dict()
    saved = weights(out)
    assert all(torch.equal(saved[k], expected[k]) for k in expected)
    assert (out / "checkpoint.safetensors.meta.json").is_file()


def test_convirt_and_image_only_write_loadable_checkpoints(synthetic_inputs, tmp_path):
    config = tiny_config(epochs=1)
    convirt = load_pretrained(pretrain(config, "convirt", synthetic_inputs, tmp_path / "convirt"))
    assert convirt.tokenizer is not None and (tmp_path / "convirt" / "tokenizer.json").is_file()
    emb = convirt.embed_reports(texts=["FINDINGS: Mild pleural effusion.\nIMPRESSION: effusion.", "No edema."])
    assert emb.shape == (2, 32) and torch.isfinite(emb).all()
    image_only = pretrain(config, "image_only", synthetic_inputs, tmp_path / "image_only")
    rows = read_log(image_only)
    assert len(rows) == 1 and float(rows[0]["loss_image_to_other"]) > 0


def test_convirt_text_branch_from_pretrained_path(synthetic_inputs, tmp_path):
    first = pretrain(tiny_config(epochs=1), "convirt", synthetic_inputs, tmp_path / "first")
    second = pretrain(tiny_config(epochs=1, text={"pretrained_path": str(first), "dim": 64}), "convirt",
                      synthetic_inputs, tmp_path / "second")
    assert load_pretrained(second).model.spec.text == load_pretrained(first).model.spec.text
    image_only = pretrain(tiny_config(epochs=1), "image_only", synthetic_inputs, tmp_path / "io")
    with pytest.raises(ValueError, match="has no text encoder"):
        pretrain(tiny_config(text={"pretrained_path": str(image_only)}), "convirt", synthetic_inputs,
                 tmp_path / "third")


def test_bf16_autocast_on_cpu(synthetic_inputs, tmp_path):
    out = pretrain(tiny_config(epochs=1, precision="bf16", graph={"pooling": "dummy_readout",
                                                                  "transformer_layers": 0}),
                   "igcl", synthetic_inputs, tmp_path / "bf16")
    assert np.isfinite(float(read_log(out)[0]["loss"]))


def copy_inputs(inputs, root):
    shutil.copytree(inputs.graphs, root / "graphs")
    return PretrainInputs(images=inputs.images, image_index=inputs.image_index, graphs=root / "graphs",
                          manifest=inputs.manifest)


def test_missing_graph_names_the_study(synthetic_inputs, tmp_path):
    inputs = copy_inputs(synthetic_inputs, tmp_path)
    part = inputs.graphs / "part-00000.parquet"
    table = read_table(part, GRAPH_SCHEMA)
    write_table(table.slice(1), part, GRAPH_SCHEMA)  # drop the first study (a training study)
    with pytest.raises(ValueError, match=r"1 of the \d+ train studies of the image shard have no graph, e\.g\. study s50000000"):
        pretrain(tiny_config(), "igcl", inputs, tmp_path / "out")
    assert not (tmp_path / "out" / "checkpoint.safetensors").exists()


def test_image_side_comes_from_the_shard(synthetic_inputs, tmp_path):
    """The encoder's input side is the image shard's (images.size); the old pretrain.image.size key is refused."""
    with pytest.raises(ValueError, match=r"pretrain.image: unknown key\(s\) \['size'\]"):
        tiny_config(image={"size": 64})
    out = tmp_path / "out"
    pretrain(tiny_config(epochs=1), "image_only", synthetic_inputs, out)
    assert load_pretrained(out).image_size == 32


def test_a_resume_state_from_other_graphs_is_discarded(synthetic_inputs, tmp_path, caplog):
    """The graphs changed since the state was written (so Snakemake reruns the job): start afresh, once, and end
    with the weights of an uninterrupted run on the new graphs."""
    inputs = copy_inputs(synthetic_inputs, tmp_path)
    out = tmp_path / "out"
    config = tiny_config(checkpoint_every=2)
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "igcl", inputs, out, stop_after_step=2)
    part = inputs.graphs / "part-00000.parquet"
    rows = read_table(part, GRAPH_SCHEMA).to_pylist()
    rows[0]["nodes"].append({"text": "hydropneumothorax", "label": "OBS-DP", "start": 0, "end": 17,
                             "section": "findings"})
    import pyarrow as pa
    write_table(pa.Table.from_pylist(rows, schema=GRAPH_SCHEMA), part, GRAPH_SCHEMA)
    with caplog.at_level(logging.WARNING, logger="igcl.train.loop"):
        pretrain(config, "igcl", inputs, out)
    warnings = [r.getMessage() for r in caplog.records if "discarding" in r.getMessage()]
    assert len(warnings) == 1
    assert re.search(r"step-00000002: resume state written for other inputs: vocabulary mismatch: the checkpoint's "
                     r"graph vocabulary has 13 tokens .* give 14", warnings[0])
    assert not (out / "resume").exists()
    fresh = tmp_path / "fresh"
    pretrain(config, "igcl", inputs, fresh)
    got, expected = load_file(out / "checkpoint.safetensors"), load_file(fresh / "checkpoint.safetensors")
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)


def test_corrupt_resume_checkpoint(synthetic_inputs, tmp_path):
    out = tmp_path / "out"
    config = tiny_config(checkpoint_every=2)
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=2)
    state = latest_checkpoint(out) / "state.pt"
    good = state.read_bytes()
    state.write_bytes(good[:100])
    with pytest.raises(ValueError, match=r"state.pt: corrupt resume state"):
        pretrain(config, "image_only", synthetic_inputs, out)
    state.write_bytes(good)
    weights_file = latest_checkpoint(out) / "model.safetensors"
    weights_file.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"model.safetensors: corrupt or unreadable"):
        pretrain(config, "image_only", synthetic_inputs, out)


def test_a_resume_state_of_another_config_is_discarded_and_the_run_starts_afresh(synthetic_inputs, tmp_path,
                                                                                caplog):
    out = tmp_path / "out"
    with pytest.raises(TrainingInterrupted):
        pretrain(tiny_config(checkpoint_every=2), "image_only", synthetic_inputs, out, stop_after_step=2)
    assert latest_checkpoint(out).name == "step-00000002"
    changed = tiny_config(checkpoint_every=2, lr=1e-3, graph={"hidden_dim": 48})
    with caplog.at_level(logging.INFO, logger="igcl.train.loop"):
        pretrain(changed, "image_only", synthetic_inputs, out)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "step-00000002: resume state written under a different config (differs in: graph.hidden_dim, lr)" in \
        warnings[0] and "starting afresh" in warnings[0]
    assert not any("resumed from" in r.getMessage() for r in caplog.records)
    assert not (out / "resume").exists()
    straight = pretrain(changed, "image_only", synthetic_inputs, tmp_path / "straight")
    a, b = weights(straight), weights(out)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_an_execution_setting_change_still_resumes(synthetic_inputs, tmp_path, caplog):
    out = tmp_path / "out"
    with pytest.raises(TrainingInterrupted):
        pretrain(tiny_config(checkpoint_every=2), "image_only", synthetic_inputs, out, stop_after_step=2)
    with caplog.at_level(logging.INFO, logger="igcl.train.loop"):
        pretrain(tiny_config(checkpoint_every=3, max_val_pairs=10), "image_only", synthetic_inputs, out)
    assert any("resumed from" in r.getMessage() and "step-00000002" in r.getMessage() for r in caplog.records)


def event_steps(log_dir, tag="train/loss"):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return [e.step for e in events.Scalars(tag)]


def test_a_rerun_removes_a_killed_runs_litter(synthetic_inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.safetensors.meta.json").write_text("{}")  # Snakemake deleted the weights, not the sidecar
    (out / ".checkpoint.safetensors.k1lled00.tmp").write_bytes(b"\0" * 4096)  # killed while saving the weights
    stale_step = out / "resume" / ".step-00000005.k1lled00.tmp"  # killed while saving a resume checkpoint
    stale_step.mkdir(parents=True)
    (stale_step / "model.safetensors").write_bytes(b"\0" * 4096)
    with pytest.raises(TrainingInterrupted):
        pretrain(tiny_config(checkpoint_every=2), "image_only", synthetic_inputs, out, stop_after_step=2)
    assert sorted(p.name for p in out.iterdir()) == ["resume"]
    assert sorted(p.name for p in (out / "resume").iterdir()) == ["step-00000002"]


def test_tensorboard_of_a_fresh_start_holds_only_the_new_run(synthetic_inputs, tmp_path):
    out = tmp_path / "out"
    config = tiny_config(tensorboard=True, epochs=1)  # checkpoint_every=100: a kill leaves no resume state
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=2)
    killed = list((out / "tensorboard").iterdir())
    assert len(killed) == 1 and event_steps(out / "tensorboard") == [1, 2]
    pretrain(config, "image_only", synthetic_inputs, out)
    files = list((out / "tensorboard").iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.") and files != killed
    steps = event_steps(out / "tensorboard")
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > 2


def test_tensorboard_of_a_resumed_run_continues_without_duplicated_steps(synthetic_inputs, tmp_path):
    out = tmp_path / "out"
    config = tiny_config(tensorboard=True, epochs=1, checkpoint_every=2)
    with pytest.raises(TrainingInterrupted):
        pretrain(config, "image_only", synthetic_inputs, out, stop_after_step=3)  # steps 1-3 logged, 2 saved
    pretrain(config, "image_only", synthetic_inputs, out)
    assert len(list((out / "tensorboard").iterdir())) == 2  # the killed run's events up to step 2 are kept
    steps = event_steps(out / "tensorboard")
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > 3  # step 3 once, from the resumed run


def test_non_finite_loss_stops_and_keeps_last_checkpoint(synthetic_inputs, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = ContrastiveLoss.forward

    def poisoned(self, image, other):
        calls["n"] += 1
        losses = original(self, image, other)
        if calls["n"] == 4:
            losses["loss"] = losses["loss"] * float("nan")
        return losses

    monkeypatch.setattr(ContrastiveLoss, "forward", poisoned)
    out = tmp_path / "out"
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at step 4.*last good checkpoint is "
                                                 r".*step-00000002"):
        pretrain(tiny_config(checkpoint_every=2), "image_only", synthetic_inputs, out)
    assert latest_checkpoint(out).name == "step-00000002"
    assert not (out / "checkpoint.safetensors").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_channels_last_run(synthetic_inputs, tmp_path):
    out = pretrain(tiny_config(epochs=1, device="cuda"), "igcl", synthetic_inputs, tmp_path / "cuda")
    assert np.isfinite(float(read_log(out)[0]["loss"]))
    assert load_pretrained(out).embed_images(torch.zeros(2, 1, 32, 32)).shape == (2, 32)


def test_pixels_writes_its_pca_as_a_loadable_encoder(synthetic_inputs, tmp_path):
    """pixels 'pretrains' by fitting the PCA on the training images only; no optimizer step, no report side."""
    from igcl.data.imageshards.reader import ImageShard, normalize_images
    from igcl.models.pixels import fit_pixel_pca

    out = pretrain(tiny_config(pixels={"components": 8}), "pixels", synthetic_inputs, tmp_path / "pixels")
    loaded = load_pretrained(out)
    assert loaded.method == "pixels" and not loaded.has_report_encoder and loaded.feature_dim == 8
    shard = ImageShard(synthetic_inputs.images, synthetic_inputs.image_index)
    expected = fit_pixel_pca(shard.images(shard.rows("train")), 8)
    torch.testing.assert_close(loaded.image_encoder.components, expected.components, rtol=0, atol=0)
    x = normalize_images(shard.images(np.arange(4)))
    torch.testing.assert_close(loaded.image_encoder(x), expected(x))
    assert read_log(out) == []  # nothing trained


def test_pixels_with_more_components_than_images_names_the_shard(synthetic_inputs, tmp_path):
    with pytest.raises(ValueError, match=rf"{synthetic_inputs.images}: \d+ training images cannot give 5000"):
        pretrain(tiny_config(pixels={"components": 5000}), "pixels", synthetic_inputs, tmp_path / "pixels")
    assert not (tmp_path / "pixels" / "checkpoint.safetensors").exists()
