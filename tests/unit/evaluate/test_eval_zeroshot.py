"""Zero-shot: prompt pairs and ensembles, hand-written graph prompts, the pair softmax, image→prompt accuracy."""

import math

import numpy as np
import pytest

from evaldata_builders import save_checkpoint
from igcl.evaluate.config import ZeroShotConfig
from igcl.evaluate.prompt_graphs import read_prompt_graphs
from igcl.evaluate.prompt_parse import write_prompt_graphs
from igcl.evaluate.prompts import graph_row, prompt_pairs
from igcl.evaluate.zeroshot import (prompt_accuracy, prompt_pair_probability, prompt_vectors, single_label_images,
                                    zero_shot_scores)
from igcl.models.checkpoint import load_pretrained

TEMPLATES = (("{}", "no {}"), ("there is {}", "there is no {}"))


def test_prompt_pairs_from_templates_or_the_pathologys_own():
    assert prompt_pairs("Pleural Effusion", TEMPLATES, {}) == [
        ("pleural effusion", "no pleural effusion"), ("there is pleural effusion", "there is no pleural effusion")]
    own = {"Edema": [["pulmonary edema", "no pulmonary edema"]]}
    assert prompt_pairs("Edema", TEMPLATES, own) == [("pulmonary edema", "no pulmonary edema")]


def test_the_pair_softmax_against_a_hand_computation():
    p, n, t = np.array([0.30, -0.2]), np.array([0.10, 0.1]), 0.1
    by_hand = [math.exp(0.3 / t) / (math.exp(0.3 / t) + math.exp(0.1 / t)),
               math.exp(-0.2 / t) / (math.exp(-0.2 / t) + math.exp(0.1 / t))]
    assert prompt_pair_probability(p, n, t) == pytest.approx(by_hand)
    # image vectors against prompt vectors: the same numbers through the dot products
    images = np.array([[1.0, 0.0], [0.0, 1.0]])
    pos, neg = np.array([[0.3, -0.2]]), np.array([[0.1, 0.1]])
    assert zero_shot_scores(images, pos, neg)[:, 0] == pytest.approx(by_hand)


def test_a_hand_written_graph_prompt_becomes_a_graph_row():
    row = graph_row({"nodes": [{"text": "effusion", "label": "OBS-DA"}, {"text": "pleural", "label": "ANAT-DP"}],
                     "edges": [{"src": 0, "dst": 1, "relation": "located_at"}]}, "here")
    assert [(n["text"], n["start"], n["end"]) for n in row["nodes"]] == [("effusion", 0, 8), ("pleural", 9, 16)]
    assert row["edges"] == [{"src": 0, "dst": 1, "relation": "located_at"}]
    with pytest.raises(ValueError, match=r"here.edges\[0\]: relation 'causes'"):
        graph_row({"nodes": [{"text": "a", "label": "OBS-DP"}], "edges": [{"src": 0, "dst": 0, "relation": "causes"}]},
                  "here")


def _prompt_graphs(tmp_path, templates):
    """What the prompts stage writes for ``templates``, read back as the evaluate stage reads it."""
    cfg = ZeroShotConfig(templates=templates)
    path = tmp_path / f"prompts-{len(templates)}-{abs(hash(templates))}.parquet"
    write_prompt_graphs(cfg, path)
    return read_prompt_graphs(path, cfg)


@pytest.mark.parametrize("method", ["convirt", "igcl"])
def test_prompt_vectors_are_unit_ensembles(tmp_path, method):
    model = load_pretrained(save_checkpoint(tmp_path, method))
    pathologies = ("Edema", "Cardiomegaly")
    graphs = (lambda templates: _prompt_graphs(tmp_path, templates)) if method == "igcl" else (lambda _: None)
    pos, neg, described = prompt_vectors(model, pathologies, TEMPLATES, {}, {}, graphs(TEMPLATES))
    assert pos.shape == neg.shape == (2, 8)
    assert np.linalg.norm(pos, axis=1) == pytest.approx([1.0, 1.0])
    # the ensemble is the renormalised mean of the two pairs' unit positive vectors
    alone = [prompt_vectors(model, ("Edema",), (pair,), {}, {}, graphs((pair,)))[0][0] for pair in TEMPLATES]
    mean = np.mean(alone, axis=0)
    assert pos[0] == pytest.approx(mean / np.linalg.norm(mean), abs=1e-5)
    assert ("parsed graphs of" in described[0]) == (method == "igcl")


def test_parsed_prompt_graphs_carry_the_negation_and_a_graph_method_needs_them(tmp_path):
    graphs = _prompt_graphs(tmp_path, TEMPLATES)
    assert len(graphs) == 5 * 2 * 2  # pathologies x sides x pairs
    labels = {n["text"]: n["label"] for n in graphs["Pleural Effusion|negative|0"]["nodes"]}
    assert labels.get("effusion") == "OBS-DA" and labels.get("pleural") == "ANAT-DP"
    model = load_pretrained(save_checkpoint(tmp_path, "igcl"))
    with pytest.raises(ValueError, match="pass prompt_graphs"):
        prompt_vectors(model, ("Edema",), TEMPLATES, {}, {})


def test_a_graph_method_uses_the_hand_written_graphs(tmp_path):
    model = load_pretrained(save_checkpoint(tmp_path, "igcl"))
    graphs = {"Edema": {"positive": [{"nodes": [{"text": "edema", "label": "OBS-DP"}]}],
                        "negative": [{"nodes": [{"text": "edema", "label": "OBS-DA"}]}]}}
    pos, neg, described = prompt_vectors(model, ("Edema",), TEMPLATES, {}, graphs)
    assert described == ("Edema: hand-written graphs",)
    assert not np.allclose(pos, neg)  # the assertion label alone tells the prompts apart


def test_single_label_images_and_a_perfect_prompt_accuracy():
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0], [0, np.nan, 1]], dtype=float)
    index, classes = single_label_images(targets)
    assert index.tolist() == [0, 1, 3] and classes.tolist() == [0, 1, 2]
    prompts = np.eye(3)
    images = np.eye(3)[[0, 1, 0, 2, 1, 2]]  # each single-label image points at its own prompt
    row = prompt_accuracy(images, prompts, targets, per_class=10, n_bootstrap=20, level=0.95,
                          rng=np.random.default_rng(0))
    assert row["value"] == 1.0 and row["n"] == 3 and row["n_pos"] == 3 and row["chance"] == pytest.approx(1 / 3)
    wrong = prompt_accuracy(images[:, [1, 2, 0]], prompts, targets, per_class=10, n_bootstrap=20, level=0.95,
                            rng=np.random.default_rng(0))
    assert wrong["value"] == 0.0
