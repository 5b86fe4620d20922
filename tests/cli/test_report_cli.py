"""``igcl report`` on small hand-made eval tables: summary.md with the numbers, computed findings, the paired
comparisons table and figures."""

import json

import numpy as np
import polars as pl
import pytest

from igcl.cli.report import main
from igcl.evaluate.results import (FEWSHOT_METRICS_SCHEMA, FRACTION_METRICS_SCHEMA, RETRIEVAL_SCHEMA, SCORES_SCHEMA,
                                   write_rows)
from igcl.labels import COMPETITION_PATHOLOGIES

# mean AUROC per method and fraction (seed 0 / seed 1 average to these), chosen so that the findings are known
MEANS = {"igcl": {0.01: 0.70, 1.0: 0.85}, "convirt": {0.01: 0.65, 1.0: 0.84}, "random": {0.01: 0.55, 1.0: 0.60}}
# per-image test scores: label * SIGNAL + standard normal noise (0: pure noise), 120 test images per pathology
SIGNAL = {"igcl": 3.0, "convirt": 2.9, "random": 0.0, "image_only": 0.0}


def metric_rows(method, pretrain_seed, task, setting_key, setting, center, width=0.02):
    rows = []
    for seed, shift in ((0, -0.01), (1, 0.01)):
        for name in (*COMPETITION_PATHOLOGIES, "mean"):
            value = center + shift + 0.02 * pretrain_seed
            rows.append({"method": method, "pretrain_seed": pretrain_seed, "task": task, setting_key: setting,
                         "seed": seed, "pathology": name, "auroc": value, "ci_low": value - width,
                         "ci_high": value + width, "n_pos": 20, "n": 100, "n_train_pos": 5, "n_train": 50,
                         "n_skipped": 0, "status": "ok"})
    return rows


def write_eval_dir(root, method, retrieval_p5, pretrain_seed=0):
    out = root / method / f"seed{pretrain_seed}"
    linear = [r for f, c in MEANS[method].items()
              for r in metric_rows(method, pretrain_seed, "linear", "fraction", f, c)]
    write_rows(linear, out / "linear.parquet", FRACTION_METRICS_SCHEMA)
    fewshot = [r for k in (1, 5)
               for r in metric_rows(method, pretrain_seed, "fewshot", "k", k, MEANS[method][0.01] - 0.05)]
    write_rows(fewshot, out / "fewshot.parquet", FEWSHOT_METRICS_SCHEMA)
    retrieval = []
    if retrieval_p5 is not None:
        for k, p in ((1, retrieval_p5 + 0.05), (5, retrieval_p5)):
            for name in (*COMPETITION_PATHOLOGIES, "mean"):
                retrieval.append({"method": method, "pretrain_seed": pretrain_seed, "task": "retrieval", "k": k,
                                  "seed": 0, "pathology": name, "precision": p, "ci_low": p - 0.05,
                                  "ci_high": p + 0.05, "n_pos": 4 if name != "mean" else 20, "n": 20})
    write_rows(retrieval, out / "retrieval.parquet", RETRIEVAL_SCHEMA)
    rng = np.random.default_rng([len(method), pretrain_seed])
    labels = np.r_[np.ones(30), np.zeros(90)].astype(int)
    scores = []
    for fraction in MEANS[method]:
        for seed in (0, 1):
            for name in COMPETITION_PATHOLOGIES:
                for i, (y, s) in enumerate(zip(labels, SIGNAL[method] * labels + rng.normal(0, 1, len(labels)))):
                    scores.append({"method": method, "pretrain_seed": pretrain_seed, "task": "linear",
                                   "fraction": fraction, "seed": seed, "pathology": name, "row": i,
                                   "study_id": f"p{i}/study1", "label": int(y), "score": float(s)})
    write_rows(scores, out / "scores.parquet", SCORES_SCHEMA)
    return out


@pytest.fixture
def eval_dirs(tmp_path):
    return [write_eval_dir(tmp_path / "eval", "igcl", 0.42), write_eval_dir(tmp_path / "eval", "convirt", 0.35),
            write_eval_dir(tmp_path / "eval", "random", None)]


def run_report(tmp_path, dirs, settings=None):
    out, figures = tmp_path / "results" / "summary.md", tmp_path / "results" / "figures"
    comparisons = tmp_path / "results" / "comparisons.parquet"
    args = ["--eval-dirs", *map(str, dirs), "--out", str(out), "--figures", str(figures),
            "--comparisons", str(comparisons)]
    assert main((["--settings", json.dumps(settings)] if settings else []) + args) == 0
    return out.read_text(), pl.read_parquet(comparisons), figures


def test_report_builds_summary_and_figures(tmp_path, eval_dirs):
    text, comparisons, figures = run_report(tmp_path, eval_dirs, {"fewshot_k": [1, 5], "retrieval_k": 5,
                                                                  "comparison_bootstrap": 300})
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
    # the comparisons: 3 pairs x 2 fractions x (5 pathologies + mean), random marked as the baseline
    assert comparisons.height == 3 * 2 * 6
    mean = comparisons.filter(pl.col("pathology") == "mean")
    pairs = {(r["method_a"], r["method_b"], r["fraction"]): r for r in mean.iter_rows(named=True)}
    assert pairs[("igcl", "random", 0.01)]["baseline"] and not pairs[("igcl", "convirt", 0.01)]["baseline"]
    strong = pairs[("igcl", "random", 0.01)]
    assert strong["separable"] and strong["ci_low"] > 0.3 and strong["verdict"] == "igcl better"
    close = pairs[("igcl", "convirt", 1.0)]  # signal 3.0 vs 2.9 on 120 images: within noise
    assert not close["separable"] and close["verdict"] == "not separable"
    assert close["ci_low"] < 0 < close["ci_high"]
    # computed findings cite the paired differences, never overlapping intervals
    assert "Linear probe at 1 % of the labels, igcl has the highest value (0.700 [0.680, 0.720]), ahead of " \
           "convirt (0.650 [0.630, 0.670]); paired difference" in text
    assert "Linear probe at 1 %: all 2 learned methods beat random (paired 95 % CI above 0)" in text
    assert "Retrieval is n/a for random (no report encoder)." in text
    assert "Chance for these query classes is 0.200." in text  # 4 queries in each of 5 classes
    # the paired-differences table: a row per pair, "not separable" where the CI holds 0
    assert "## Paired differences of mean AUROC (linear probe)" in text
    row = next(line for line in text.splitlines() if line.startswith("| igcl − convirt |"))
    assert row.count("not separable") >= 1
    row = next(line for line in text.splitlines() if line.startswith("| igcl − random |"))
    assert row.count("igcl better") == 2
    # per-pathology tables for every setting
    assert "### Linear probe, 1 % of the labels" in text and "### Few-shot, k = 5" in text
    assert "| method | Atelectasis | Cardiomegaly | Consolidation | Edema | Pleural Effusion | mean |" in text
    assert not list((tmp_path / "results").glob(".*tmp")) and not list(figures.glob(".*tmp"))


def test_report_aggregates_pretraining_seeds(tmp_path, eval_dirs):
    """Two igcl pretraining seeds: the cell is their mean ± their sd, and the comparison counts both seeds."""
    dirs = eval_dirs + [write_eval_dir(tmp_path / "eval", "igcl", 0.42, pretrain_seed=1)]
    text, comparisons, _ = run_report(tmp_path, dirs, {"fewshot_k": [1], "comparison_bootstrap": 100})
    igcl_row = next(line for line in text.splitlines() if line.startswith("| igcl |"))
    # seed 0: 0.700, seed 1: 0.720 -> mean 0.710, sd 0.014
    assert "0.710 ±0.014 [0.690, 0.730]" in igcl_row
    assert "igcl 0, 1; convirt 0; random 0" in text
    row = comparisons.filter((pl.col("method_a") == "igcl") & (pl.col("method_b") == "random")).row(0, named=True)
    assert row["n_pretrain_seeds_a"] == 2 and row["n_pretrain_seeds_b"] == 1


def test_report_with_one_method_does_not_rank(tmp_path, eval_dirs):
    text, comparisons, _ = run_report(tmp_path, eval_dirs[2:])
    assert "Linear probe at 1 % of the labels, random (the only method with a score) reaches 0.550" in text
    assert "highest value" not in text and "| random |" in text
    assert comparisons.height == 0


def test_report_does_not_call_a_tie(tmp_path, monkeypatch):
    monkeypatch.setitem(MEANS, "image_only", MEANS["random"])  # two methods with the same (no-signal) scores
    dirs = [write_eval_dir(tmp_path / "eval", m, None) for m in ("random", "image_only")]
    text, comparisons, _ = run_report(tmp_path, dirs, {"comparison_bootstrap": 200})
    # the mean rows (what the summary calls); single pathologies may cross 0 by chance, 5 % of them each
    assert not comparisons.filter(pl.col("pathology") == "mean")["separable"].any()
    row = next(line for line in text.splitlines() if line.startswith("| random − image_only |"))
    assert row.count("not separable") == 2


def test_report_rejects_a_missing_or_foreign_table(tmp_path, eval_dirs):
    (eval_dirs[1] / "fewshot.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="convirt/seed0/fewshot.parquet: no such file"):
        main(["--eval-dirs", *map(str, eval_dirs), "--out", str(tmp_path / "s.md"), "--figures", str(tmp_path)])
    with pytest.raises(ValueError, match="method 'igcl' at pretraining seed 0 appears in two eval directories"):
        main(["--eval-dirs", str(eval_dirs[0]), str(eval_dirs[0]), "--out", str(tmp_path / "s.md"),
              "--figures", str(tmp_path)])
    assert not (tmp_path / "s.md").exists()


def test_report_compares_a_variant_under_its_own_name(tmp_path, eval_dirs, monkeypatch):
    """A config variant (igcl_mean: igcl with another pooling) is a run name the registry does not know; --bases
    maps it to its method, and it is compared like one. Without the mapping the report stops, naming it."""
    monkeypatch.setitem(MEANS, "igcl_mean", MEANS["igcl"])
    monkeypatch.setitem(SIGNAL, "igcl_mean", 1.0)
    dirs = eval_dirs + [write_eval_dir(tmp_path / "eval", "igcl_mean", 0.40)]
    out, figures = tmp_path / "summary.md", tmp_path / "figures"
    comparisons = tmp_path / "comparisons.parquet"
    assert main(["--eval-dirs", *map(str, dirs), "--out", str(out), "--figures", str(figures), "--comparisons",
                 str(comparisons), "--bases", json.dumps({"igcl_mean": "igcl"})]) == 0
    text = out.read_text()
    assert "| igcl_mean |" in text and "| igcl − igcl_mean |" in text
    assert "all 3 learned methods beat random" in text  # the variant counts as learned, like igcl
    table = pl.read_parquet(comparisons)
    assert table.filter(pl.col("method_b") == "igcl_mean").height > 0
    with pytest.raises(ValueError, match="unknown method 'igcl_mean'"):
        main(["--eval-dirs", *map(str, dirs), "--out", str(tmp_path / "s2.md"), "--figures", str(figures)])
    assert not (tmp_path / "s2.md").exists()
