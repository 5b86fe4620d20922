"""``igcl report`` on small hand-made eval tables: summary.md with the numbers, computed findings and figures."""

import json

import numpy as np
import pytest

from igcl.cli.report import main
from igcl.evaluate.results import (FEWSHOT_METRICS_SCHEMA, FRACTION_METRICS_SCHEMA, RETRIEVAL_SCHEMA, SCORES_SCHEMA,
                                   write_rows)
from igcl.labels import COMPETITION_PATHOLOGIES

# mean AUROC per method and fraction (seed 0 / seed 1 average to these), chosen so that the findings are known
MEANS = {"igcl": {0.01: 0.70, 1.0: 0.85}, "convirt": {0.01: 0.65, 1.0: 0.84}, "random": {0.01: 0.55, 1.0: 0.60}}


def metric_rows(method, task, setting_key, setting, center, width=0.02):
    rows = []
    for seed, shift in ((0, -0.01), (1, 0.01)):
        for name in (*COMPETITION_PATHOLOGIES, "mean"):
            value = center + shift
            rows.append({"method": method, "task": task, setting_key: setting, "seed": seed, "pathology": name,
                         "auroc": value, "ci_low": value - width, "ci_high": value + width, "n_pos": 20, "n": 100,
                         "n_train_pos": 5, "n_train": 50, "n_skipped": 0, "status": "ok"})
    return rows


def write_eval_dir(root, method, retrieval_p5):
    out = root / method
    linear = [r for f, c in MEANS[method].items() for r in metric_rows(method, "linear", "fraction", f, c)]
    write_rows(linear, out / "linear.parquet", FRACTION_METRICS_SCHEMA)
    fewshot = [r for k in (1, 5) for r in metric_rows(method, "fewshot", "k", k, MEANS[method][0.01] - 0.05)]
    write_rows(fewshot, out / "fewshot.parquet", FEWSHOT_METRICS_SCHEMA)
    retrieval = []
    if retrieval_p5 is not None:
        for k, p in ((1, retrieval_p5 + 0.05), (5, retrieval_p5)):
            for name in (*COMPETITION_PATHOLOGIES, "mean"):
                retrieval.append({"method": method, "task": "retrieval", "k": k, "seed": 0, "pathology": name,
                                  "precision": p, "ci_low": p - 0.05, "ci_high": p + 0.05,
                                  "n_pos": 4 if name != "mean" else 20, "n": 20})
    write_rows(retrieval, out / "retrieval.parquet", RETRIEVAL_SCHEMA)
    rng = np.random.default_rng(len(method))
    scores = []
    for name in COMPETITION_PATHOLOGIES:
        labels = np.r_[np.ones(10), np.zeros(30)].astype(int)
        for i, (y, s) in enumerate(zip(labels, labels + rng.normal(0, 1, 40))):
            scores.append({"method": method, "task": "linear", "fraction": 1.0, "seed": 0, "pathology": name,
                           "row": i, "study_id": f"p{i}/study1", "label": int(y), "score": float(s)})
    write_rows(scores, out / "scores.parquet", SCORES_SCHEMA)
    return out


@pytest.fixture
def eval_dirs(tmp_path):
    return [write_eval_dir(tmp_path / "eval", "igcl", 0.42), write_eval_dir(tmp_path / "eval", "convirt", 0.35),
            write_eval_dir(tmp_path / "eval", "random", None)]


def test_report_builds_summary_and_figures(tmp_path, eval_dirs):
    out, figures = tmp_path / "results" / "summary.md", tmp_path / "results" / "figures"
    settings = json.dumps({"fewshot_k": [1, 5], "retrieval_k": 5})
    assert main(["--settings", settings, "--eval-dirs", *map(str, eval_dirs), "--out", str(out),
                 "--figures", str(figures)]) == 0
    text = out.read_text()
    for name in ("roc.png", "label_efficiency.png", "retrieval.png"):
        png = figures / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert f"](figures/{name})" in text
    # headline table: one row per method, the seed-mean with the seed-mean CI
    header = next(line for line in text.splitlines() if line.startswith("| method | linear"))
    assert header == ("| method | linear 1 % | linear 100 % | few-shot k=1 | few-shot k=5 | retrieval P@5 |")
    igcl_row = next(line for line in text.splitlines() if line.startswith("| igcl |"))
    assert "0.700 [0.680, 0.720]" in igcl_row and "0.850 [0.830, 0.870]" in igcl_row
    assert "0.420 [0.370, 0.470]" in igcl_row
    random_row = next(line for line in text.splitlines() if line.startswith("| random |"))
    assert random_row.endswith("| n/a |")
    # computed findings
    assert "Linear probe at 1 % of the labels, **igcl** is best (0.700 [0.680, 0.720]), ahead of convirt" in text
    assert "ahead of convirt (0.650 [0.630, 0.670]); their 95 % CIs do not overlap." in text
    assert "Linear probe at 100 % of the labels, **igcl** is best" in text and "overlap, so the difference" in text
    assert "igcl, convirt beat the random-weights floor (0.550)" in text
    assert "Retrieval is n/a for random (no report encoder)." in text
    assert "Image→report retrieval precision@5, **igcl** is best (0.420 [0.370, 0.470])" in text
    assert "Chance for these query classes is 0.200." in text  # 4 queries in each of 5 classes
    # per-pathology tables for every setting
    assert "### Linear probe, 1 % of the labels" in text and "### Few-shot, k = 5" in text
    assert "| method | Atelectasis | Cardiomegaly | Consolidation | Edema | Pleural Effusion | mean |" in text
    assert not list(out.parent.glob(".*tmp")) and not list(figures.glob(".*tmp"))


def test_report_with_one_method_does_not_rank(tmp_path, eval_dirs):
    out = tmp_path / "summary.md"
    assert main(["--eval-dirs", str(eval_dirs[2]), "--out", str(out), "--figures", str(tmp_path / "f")]) == 0
    text = out.read_text()
    assert "Linear probe at 1 % of the labels, random (the only method with a score) reaches 0.550" in text
    assert "is best" not in text and "| random |" in text


def test_report_states_ties(tmp_path, monkeypatch):
    monkeypatch.setitem(MEANS, "image_only", MEANS["random"])  # two methods with identical scores
    dirs = [write_eval_dir(tmp_path / "eval", m, None) for m in ("random", "image_only")]
    out = tmp_path / "summary.md"
    assert main(["--eval-dirs", *map(str, dirs), "--out", str(out), "--figures", str(tmp_path / "f")]) == 0
    text = out.read_text()
    assert "Linear probe at 1 % of the labels, random, image_only tie at 0.550." in text
    assert "is best" not in text


def test_report_rejects_a_missing_or_foreign_table(tmp_path, eval_dirs):
    (eval_dirs[1] / "fewshot.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="convirt/fewshot.parquet: no such file"):
        main(["--eval-dirs", *map(str, eval_dirs), "--out", str(tmp_path / "s.md"), "--figures", str(tmp_path)])
    with pytest.raises(ValueError, match="method 'igcl' appears in two eval directories"):
        main(["--eval-dirs", str(eval_dirs[0]), str(eval_dirs[0]), "--out", str(tmp_path / "s.md"),
              "--figures", str(tmp_path)])
    assert not (tmp_path / "s.md").exists()
