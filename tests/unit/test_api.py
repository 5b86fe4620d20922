"""The Python API (igcl.load, igcl.parse): the README's example runs as written, and the embeddings are the
pipeline's own."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

import igcl
from igcl.config import from_mapping
from igcl.train.config import PretrainConfig
from igcl.train.loop import PretrainInputs, pretrain
from igcl.train.synthetic import write_synthetic_pairs

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A tiny igcl run at results/pretrain/igcl/seed0 under a fresh working directory."""
    root = tmp_path_factory.mktemp("api")
    inputs = PretrainInputs(**write_synthetic_pairs(root / "data", studies=60, size=32, seed=0))
    config = from_mapping(PretrainConfig, {
        "image": {"model": "test_resnet"}, "projection_dim": 16, "graph": {"hidden_dim": 16, "heads": 2},
        "epochs": 1, "batch_size": 16, "warmup_steps": 1, "tensorboard": False}, where="pretrain")
    pretrain(config, "igcl", inputs, root / "results" / "pretrain" / "igcl" / "seed0")
    return root


def test_the_readme_example_runs(run_folder):
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(run_folder)
        with contextlib.redirect_stdout(out):
            exec(compile(_readme_example(), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    assert printed.startswith("igcl.Model(method='igcl', image_size=32)")
    assert "[[" in printed  # the 2 x 2 similarity matrix


def test_embeddings_are_unit_vectors_in_one_space(run_folder):
    model = igcl.load(run_folder / "results" / "pretrain" / "igcl" / "seed0")
    images = np.random.default_rng(1).integers(0, 256, (3, 50, 70), dtype=np.uint8)
    vectors = model.embed_images(images)
    reports = model.embed_reports(texts=["FINDINGS: Large right pleural effusion.", "FINDINGS: Normal chest."])
    assert vectors.shape == (3, 16) and reports.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(reports, axis=1), 1.0, rtol=1e-5)
    # texts and their parsed graphs give the same report vectors
    graphs = igcl.parse(["FINDINGS: Large right pleural effusion.", "FINDINGS: Normal chest."])
    np.testing.assert_allclose(model.embed_reports(graphs=graphs), reports, rtol=1e-5, atol=1e-6)


def test_bad_inputs_are_clear_errors(run_folder, tmp_path):
    model = igcl.load(run_folder / "results" / "pretrain" / "igcl" / "seed0")
    with pytest.raises(ValueError, match=r"uint8 grey images \[B, H, W\], got float64"):
        model.embed_images(np.zeros((2, 8, 8)))
    with pytest.raises(TypeError, match="not one string"):
        igcl.parse("FINDINGS: one report")
    with pytest.raises(ValueError, match="checkpoint directory is missing"):
        igcl.load(tmp_path / "nowhere")


def test_the_prompt_pair_softmax_is_the_hand_computation():
    from igcl.api import prompt_pair_probability

    pos, neg, t = np.array([[0.30, -0.10]]), np.array([[0.10, 0.20]]), 0.1
    expected = np.exp(pos / t) / (np.exp(pos / t) + np.exp(neg / t))
    np.testing.assert_allclose(prompt_pair_probability(pos, neg, t), expected, rtol=1e-12)
    assert prompt_pair_probability(np.array([1000.0]), np.array([-1000.0]), 0.01)[0] == 1.0  # no overflow


def test_zero_shot_scores_each_image_against_each_prompt_pair(run_folder):
    model = igcl.load(run_folder / "results" / "pretrain" / "igcl" / "seed0")
    images = np.random.default_rng(2).integers(0, 256, (4, 32, 32), dtype=np.uint8)
    probs = model.zero_shot(images, ["pleural effusion", "cardiomegaly"], ["no pleural effusion", "no cardiomegaly"])
    assert probs.shape == (4, 2) and ((probs > 0) & (probs < 1)).all()
    v = model.embed_images(images)
    p, n = model.embed_reports(texts=["pleural effusion"]), model.embed_reports(texts=["no pleural effusion"])
    np.testing.assert_allclose(probs[:, 0], 1 / (1 + np.exp(-((v @ p.T) - (v @ n.T))[:, 0] / 0.1)), rtol=1e-5)
    with pytest.raises(ValueError, match="as many negative prompts"):
        model.zero_shot(images, ["a"], [])
