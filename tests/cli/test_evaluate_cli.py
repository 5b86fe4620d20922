"""``igcl evaluate`` end to end on tiny shards and real (tiny, untrained) checkpoints."""

import json
import math
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "evaluate"))
from evaldata_builders import make_eval_shard, make_retrieval_inputs, save_checkpoint  # noqa: E402

from igcl.cli.evaluate import main  # noqa: E402
from igcl.evaluate.config import ZeroShotConfig  # noqa: E402
from igcl.evaluate.prompt_parse import write_prompt_graphs  # noqa: E402
from igcl.labels import COMPETITION_PATHOLOGIES  # noqa: E402

SETTINGS = {"seeds": [0, 1], "n_bootstrap": 50, "batch_size": 16,
            "linear": {"fractions": [0.1, 1.0], "max_iter": 200}, "fewshot": {"k": [1, 5]},
            "retrieval": {"per_class": 3, "ks": [1, 5]}}


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the CLI's --threads 1 is process-wide


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalcli")
    npy, index = make_eval_shard(root / "images")
    retrieval = make_retrieval_inputs(root / "mimic")
    prompt_graphs = root / "prompts" / "graphs.parquet"
    write_prompt_graphs(ZeroShotConfig(), prompt_graphs)  # what the prompts stage writes for the defaults
    return {"root": root, "eval_images": npy, "eval_index": index, "prompt_graphs": prompt_graphs, **retrieval}


def argv(inputs, method, checkpoint, out, settings=SETTINGS, eval_index=None):
    return ["--settings", json.dumps(settings), "--method", method, "--checkpoint", str(checkpoint),
            "--eval-images", str(inputs["eval_images"]), "--eval-index", str(eval_index or inputs["eval_index"]),
            "--retrieval-images", str(inputs["images"]), "--retrieval-index", str(inputs["index"]),
            "--manifest", str(inputs["manifest"]), "--graphs", str(inputs["graphs"]),
            "--prompt-graphs", str(inputs["prompt_graphs"]), "--out", str(out),
            "--threads", "1", "--log", str(out.parent / f"{method}.log")]


@pytest.mark.slow
def test_evaluate_igcl_writes_every_table_and_reuses_features(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "igcl")
    out = tmp_path / "eval" / "igcl"
    assert main(argv(inputs, "igcl", checkpoint, out)) == 0
    linear = pq.read_table(out / "linear.parquet").to_pylist()
    assert len(linear) == 2 * 2 * 6  # fractions × seeds × (5 pathologies + mean)
    assert {r["pathology"] for r in linear} == {*COMPETITION_PATHOLOGIES, "mean"}
    full = [r for r in linear if r["fraction"] == 1.0 and r["status"] == "ok"]
    assert full and all(0 <= r["ci_low"] <= r["auroc"] <= r["ci_high"] <= 1 for r in full)
    fewshot = pq.read_table(out / "fewshot.parquet").to_pylist()
    assert {r["k"] for r in fewshot} == {1, 5} and len(fewshot) == 2 * 2 * 6
    retrieval = pq.read_table(out / "retrieval.parquet").to_pylist()
    means = [r for r in retrieval if r["pathology"] == "mean"]
    assert {(r["k"], r["seed"]) for r in means} == {(1, 0), (1, 1), (5, 0), (5, 1)}
    assert all(r["n"] == 15 and 0 <= r["precision"] <= 1 for r in means)  # 3 per class × 5
    scores = pq.read_table(out / "scores.parquet")
    assert set(scores.column("task").to_pylist()) == {"linear", "fewshot", "zeroshot"}
    assert set(scores.column("split").to_pylist()) == {"valid"}  # no test split in these data
    zeroshot = pq.read_table(out / "zeroshot.parquet").to_pylist()
    assert {(r["metric"], r["pathology"]) for r in zeroshot} == {
        *(("auroc", p) for p in (*COMPETITION_PATHOLOGIES, "mean")), ("accuracy", "all")}
    assert "parsed graphs of 'pleural effusion'/'no pleural effusion'" in zeroshot[0]["prompts"]
    assert pq.read_table(out / "thresholds.parquet").num_rows == 0  # valid is the test split: no threshold split
    assert pq.read_table(out / "radiologists.parquet").num_rows == 0
    assert not (out / "finetune.parquet").exists()
    meta = json.loads((out / "linear.parquet.meta.json").read_text())
    assert meta["method"] == "igcl" and meta["data"]["features_cached"] is False
    assert meta["config"]["uncertain"] == "ones"
    # other probe settings: the features come from the cache, the tables change
    other = {**SETTINGS, "linear": {"fractions": [0.5], "max_iter": 200}, "uncertain": "ignore"}
    assert main(argv(inputs, "igcl", checkpoint, out, settings=other)) == 0
    meta = json.loads((out / "linear.parquet.meta.json").read_text())
    assert meta["data"]["features_cached"] is True and len(list((out / "features").glob("*.npz"))) == 1
    assert {r["fraction"] for r in pq.read_table(out / "linear.parquet").to_pylist()} == {0.5}


def test_evaluate_image_only_skips_retrieval(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "image_only")
    out = tmp_path / "eval" / "image_only"
    settings = {**SETTINGS, "seeds": [0], "linear": {"fractions": [1.0], "max_iter": 100}, "fewshot": {"k": [1]}}
    assert main(argv(inputs, "image_only", checkpoint, out, settings=settings)) == 0
    assert pq.read_table(out / "retrieval.parquet").num_rows == 0
    meta = json.loads((out / "retrieval.parquet.meta.json").read_text())
    assert "no report encoder" in meta["data"]["retrieval"]
    mean = [r for r in pq.read_table(out / "linear.parquet").to_pylist() if r["pathology"] == "mean"][0]
    assert not math.isnan(mean["auroc"])


@pytest.mark.slow
def test_finetune_switch(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "random")
    out = tmp_path / "eval" / "random"
    settings = {**SETTINGS, "seeds": [0], "linear": {"fractions": [1.0], "max_iter": 100}, "fewshot": {"k": [1]},
                "finetune": {"enabled": True, "fractions": [0.5, 1.0], "epochs": 1, "batch_size": 16}}
    assert main(argv(inputs, "random", checkpoint, out, settings=settings)) == 0
    finetune = pq.read_table(out / "finetune.parquet").to_pylist()
    assert {r["fraction"] for r in finetune} == {0.5, 1.0} and len(finetune) == 2 * 6
    assert all(0 <= r["auroc"] <= 1 for r in finetune if r["status"] == "ok")
    scores = pq.read_table(out / "scores.parquet")
    assert "finetune" in set(scores.column("task").to_pylist())
    # switched off again: the stale table goes, so the report cannot mistake it for this run's
    settings["finetune"] = {"enabled": False}
    assert main(argv(inputs, "random", checkpoint, out, settings=settings)) == 0
    assert not (out / "finetune.parquet").exists()


def test_wrong_method_and_wrong_architecture_are_clear(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "image_only")
    out = tmp_path / "eval" / "x"
    with pytest.raises(ValueError, match="checkpoint of method 'image_only', evaluated as 'igcl'"):
        main(argv(inputs, "igcl", checkpoint, out))
    config = json.loads((checkpoint / "config.json").read_text())
    config["model"]["image_model"] = "resnet10t"
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"checkpoint.safetensors: weights do not fit the architecture"):
        main(argv(inputs, "image_only", checkpoint, out))
    assert not out.exists() or not list(out.glob("*.parquet"))


def test_missing_pathology_column_is_clear(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "image_only")
    _, index = make_eval_shard(tmp_path / "bad", drop_column="Cardiomegaly")
    out = tmp_path / "eval" / "image_only"
    with pytest.raises(ValueError, match=r"eval.index.parquet: missing column 'Cardiomegaly'"):
        main(argv(inputs, "image_only", checkpoint, out, eval_index=index))
    assert not list(out.glob("*.parquet")) if out.exists() else True


def test_bad_settings_name_the_key(inputs, tmp_path):
    with pytest.raises(ValueError, match="evaluate.uncertain: 'maybe'"):
        main(argv(inputs, "igcl", tmp_path, tmp_path / "o", settings={"uncertain": "maybe"}))
    with pytest.raises(ValueError, match=r"evaluate.linear: unknown key\(s\) \['fraction'\]"):
        main(argv(inputs, "igcl", tmp_path, tmp_path / "o", settings={"linear": {"fraction": [0.1]}}))


READERS = """# source: two made-up readers for this test
reader,pathology,fpr,tpr
r1,Cardiomegaly,0.1,0.6
r1,Edema,0.2,0.7
r2,Cardiomegaly,0.3,0.9
"""


@pytest.mark.slow
def test_a_test_split_gets_thresholds_and_reader_comparisons(tmp_path):
    """With a CheXpert test split the probes test on it, valid chooses the thresholds, and readers are compared."""
    npy, index = make_eval_shard(tmp_path / "images", n_test_patients=30)
    data = {"eval_images": npy, "eval_index": index, "prompt_graphs": tmp_path / "none.parquet",  # convirt: unread
            **make_retrieval_inputs(tmp_path / "mimic")}
    readers = tmp_path / "readers.csv"
    readers.write_text(READERS)
    checkpoint = save_checkpoint(tmp_path / "ckpt", "convirt")
    out = tmp_path / "eval" / "convirt"
    settings = {**SETTINGS, "seeds": [0], "fewshot": {"k": [1]}}
    assert main(argv(data, "convirt", checkpoint, out, settings=settings) + ["--radiologists", str(readers)]) == 0
    scores = pq.read_table(out / "scores.parquet").to_pylist()
    assert {r["split"] for r in scores} == {"test"}
    test_rows = {r["row"] for r in scores}
    index_rows = pq.read_table(index).to_pylist()
    assert {r["split"] for r in index_rows if r["row"] in test_rows} == {"test"}
    thresholds = pq.read_table(out / "thresholds.parquet").to_pylist()
    assert {r["task"] for r in thresholds} == {"linear", "zeroshot"}
    assert {r["metric"] for r in thresholds} == {"mcc", "f1", "sensitivity", "specificity"}
    assert {(r["threshold_split"], r["split"], r["rule"]) for r in thresholds} == {("valid", "test", "youden")}
    ok = [r for r in thresholds if r["status"] == "ok" and r["pathology"] != "mean"]
    assert ok and all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in ok)
    rad = pq.read_table(out / "radiologists.parquet").to_pylist()
    linear = [r for r in rad if r["task"] == "linear"]
    assert len(linear) == 2 * 3  # fractions × reader points
    assert {r["source"] for r in rad} == {"two made-up readers for this test"}
    assert all(math.isclose(r["diff"], r["model_tpr"] - r["reader_tpr"]) for r in rad if r["status"] == "ok")
    meta = json.loads((out / "linear.parquet.meta.json").read_text())
    assert meta["data"]["test_split"] == "test" and meta["data"]["threshold_split"] == "valid"


def test_graph_prompts_made_for_other_prompts_are_refused(inputs, tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "igcl")
    out = tmp_path / "eval" / "igcl"
    settings = {**SETTINGS, "seeds": [0], "linear": {"fractions": [1.0], "max_iter": 50}, "fewshot": {"k": [1]},
                "zeroshot": {"templates": [["{} is seen", "no {} is seen"]]}}
    with pytest.raises(ValueError, match="prompt graphs made for other evaluate.zeroshot prompts"):
        main(argv(inputs, "igcl", checkpoint, out, settings=settings))
