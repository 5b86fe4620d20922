"""``igcl pretrain`` through main([...]) on a tiny synthetic data set."""

import csv
import json

import pytest
import torch

from igcl.cli.pretrain import main
from igcl.models.checkpoint import load_pretrained
from igcl.train.synthetic import write_synthetic_pairs

SETTINGS = {"image": {"model": "test_resnet"}, "projection_dim": 16, "graph": {"hidden_dim": 16,
            "heads": 2}, "epochs": 1, "batch_size": 16, "tensorboard": True}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_pairs(tmp_path_factory.mktemp("cli"), studies=50, size=32, seed=2)


def run(data, out, method="igcl", settings=SETTINGS, **extra):
    argv = ["--settings", json.dumps(settings), "--method", method, "--images", str(data["images"]),
            "--image-index", str(data["image_index"]), "--out", str(out), "--log", str(out.parent / "log.txt"),
            "--threads", "1"]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    before = torch.get_num_threads()
    try:
        return main(argv)
    finally:
        torch.set_num_threads(before)


def test_igcl_writes_the_checkpoint_directory(data, tmp_path):
    out = tmp_path / "results" / "igcl"
    assert run(data, out, graphs=data["graphs"]) == 0
    for name in ("checkpoint.safetensors", "config.json", "train_log.csv", "graph_vocab.json",
                 "checkpoint.safetensors.meta.json"):
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").iterdir())
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "igcl" and config["pretrain"]["batch_size"] == 16 and config["steps"] == config["train_pairs"] // 16
    with open(out / "train_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and float(rows[0]["loss"]) > 0
    assert load_pretrained(out).image_size == 32
    assert "held-out image->other top-1" in (tmp_path / "results" / "log.txt").read_text()


def test_bad_settings_and_missing_inputs(data, tmp_path):
    with pytest.raises(ValueError, match=r"pretrain: unknown key\(s\) \['epoch'\]"):
        run(data, tmp_path / "out", settings={"epoch": 1})
    with pytest.raises(ValueError, match="method igcl needs --graphs"):
        run(data, tmp_path / "out", settings=SETTINGS)
    with pytest.raises(SystemExit):
        run(data, tmp_path / "out", method="clip")
    assert not (tmp_path / "out" / "checkpoint.safetensors").exists()
