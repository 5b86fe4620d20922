"""Paired method comparisons: hand-made cases, sklearn recomputation, CI behaviour, errors, the slice table."""

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from igcl.summary.compare import COMPARISONS_SCHEMA, compare_methods, paired_difference, verdict_sentence
from igcl.evaluate.metrics import bootstrap_counts

PATHOLOGIES = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")


def score_frame(method, labels, scores, *, pathologies=PATHOLOGIES[:1], pretrain_seeds=(0,), seeds=(0,),
                task="linear", fraction=0.1, k=None):
    """Scores rows for ``labels`` [P, n] and ``scores`` [pretrain seeds, sampling seeds, P, n]."""
    labels, scores = np.atleast_2d(labels), np.asarray(scores, dtype=np.float64)
    scores = scores.reshape(len(pretrain_seeds), len(seeds), len(pathologies), labels.shape[1])
    records = []
    for i, pre in enumerate(pretrain_seeds):
        for j, seed in enumerate(seeds):
            for p, name in enumerate(pathologies):
                for row in range(labels.shape[1]):
                    records.append({"method": method, "task": task, "fraction": fraction, "k": k, "seed": seed,
                                    "pretrain_seed": pre, "pathology": name, "row": row, "study_id": f"s{row}",
                                    "label": int(labels[p, row]), "score": float(scores[i, j, p, row])})
    return pl.DataFrame(records, schema={"method": pl.String, "task": pl.String, "fraction": pl.Float64,
                                         "k": pl.Int64, "seed": pl.Int64, "pretrain_seed": pl.Int64,
                                         "pathology": pl.String, "row": pl.Int64, "study_id": pl.String,
                                         "label": pl.Int8, "score": pl.Float64})


def compare(frame, a="a", b="b", n_bootstrap=500, seed=0):
    return paired_difference(frame, a, b, n_bootstrap=n_bootstrap, level=0.95, rng=np.random.default_rng(seed))


def test_perfect_against_inverted_ranking_differs_by_exactly_one():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.arange(6) / 10
    frame = pl.concat([score_frame("a", y, s), score_frame("b", y, s[::-1])])
    rows = compare(frame, n_bootstrap=400, seed=3)
    assert [r["pathology"] for r in rows] == ["Atelectasis", "mean"]
    # every resample with both classes has AUROC 1 for a and 0 for b; those without are skipped
    counts = bootstrap_counts(6, 400, np.random.default_rng(3))
    lacking = int(((counts[:, :3].sum(axis=1) == 0) | (counts[:, 3:].sum(axis=1) == 0)).sum())
    assert lacking > 0
    for r in rows:
        assert (r["diff"], r["ci_low"], r["ci_high"]) == (1.0, 1.0, 1.0)
        assert r["n_skipped"] == lacking and r["n"] == 6 and r["separable"] and r["verdict"] == "a better"
        assert (r["n_pretrain_seeds_a"], r["n_pretrain_seeds_b"], r["n_sampling_seeds"]) == (1, 1, 1)
    assert verdict_sentence(rows[0]) == "a \N{MINUS SIGN} b: +1.000 [+1.000, +1.000], a better"


def test_identical_methods_differ_by_zero_and_are_not_separable():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)
    s = rng.normal(size=40) + y
    frame = pl.concat([score_frame("a", y, s), score_frame("b", y, s)])
    for r in compare(frame):
        assert (r["diff"], r["ci_low"], r["ci_high"]) == (0.0, 0.0, 0.0)
        assert r["verdict"] == "not separable" and not r["separable"]


def test_point_difference_is_the_mean_of_sklearn_aurocs():
    rng = np.random.default_rng(7)
    n, shape = 150, (2, 3, 5, 150)  # pretraining seeds, sampling seeds, pathologies, images
    y = rng.integers(0, 2, (5, n))
    s_a, s_b = rng.normal(size=shape) + 0.8 * y, rng.normal(size=shape) + 0.3 * y
    kw = {"pathologies": PATHOLOGIES, "pretrain_seeds": (10, 11), "seeds": (0, 1, 2)}
    frame = pl.concat([score_frame("a", y, s_a, **kw), score_frame("b", y, s_b, **kw)])
    rows = compare(frame, n_bootstrap=300)
    want = [np.mean([roc_auc_score(y[p], s_a[i, j, p]) - roc_auc_score(y[p], s_b[i, j, p])
                     for i in range(2) for j in range(3)]) for p in range(5)]
    assert [r["pathology"] for r in rows] == [*PATHOLOGIES, "mean"]
    np.testing.assert_allclose([r["diff"] for r in rows], [*want, np.mean(want)], atol=1e-12)
    for r in rows:
        assert r["ci_low"] <= r["diff"] <= r["ci_high"]
        assert (r["n"], r["n_pretrain_seeds_a"], r["n_pretrain_seeds_b"], r["n_sampling_seeds"]) == (150, 2, 2, 3)
    assert rows[-1]["verdict"] == "a better" and rows[-1]["ci_low"] > 0


def test_independent_noise_straddles_zero():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 100)
    frame = pl.concat([score_frame("a", y, rng.normal(size=100)), score_frame("b", y, rng.normal(size=100))])
    mean = compare(frame)[-1]
    assert mean["ci_low"] < 0 < mean["ci_high"]
    assert mean["verdict"] == "not separable" and mean["separable"] is False


def test_signal_against_noise_is_separable():
    rng = np.random.default_rng(12)
    y = rng.integers(0, 2, 200)
    frame = pl.concat([score_frame("a", y, y + 0.3 * rng.normal(size=200)),
                       score_frame("b", y, rng.normal(size=200))])
    mean = compare(frame)[-1]
    assert mean["verdict"] == "a better" and mean["separable"] and mean["ci_low"] > 0.3
    assert verdict_sentence({**mean, "diff": -0.004, "ci_low": -0.031, "ci_high": 0.022,
                             "verdict": "not separable"}) == \
        "a \N{MINUS SIGN} b: \N{MINUS SIGN}0.004 [\N{MINUS SIGN}0.031, +0.022], not separable"


def test_pretraining_seed_resampling_widens_the_ci():
    rng = np.random.default_rng(13)
    y = rng.integers(0, 2, 200)
    noise = rng.normal(size=(3, 200))
    varied = np.stack([0.1 * y + noise[0], 1.0 * y + noise[1], 4.0 * y + noise[2]])  # AUROC ≈ 0.53, 0.76, 0.99
    same = np.stack([1.0 * y + noise[1]] * 3)
    b = score_frame("b", y, rng.normal(size=200))
    kw = {"pretrain_seeds": (0, 1, 2)}
    wide = compare(pl.concat([score_frame("a", y, varied, **kw), b]))[-1]
    narrow = compare(pl.concat([score_frame("a", y, same, **kw), b]))[-1]
    assert wide["ci_high"] - wide["ci_low"] > 1.5 * (narrow["ci_high"] - narrow["ci_low"])
    assert wide["n_pretrain_seeds_a"] == 3 and wide["n_pretrain_seeds_b"] == 1


def test_unpaired_inputs_are_rejected():
    y = np.array([0, 1, 0, 1])
    s = np.array([0.1, 0.9, 0.4, 0.3])
    with pytest.raises(ValueError, match=r"sampling seeds differ: a has \[0, 1\], b has \[0, 2\]"):
        compare(pl.concat([score_frame("a", y, [s, s], seeds=(0, 1)), score_frame("b", y, [s, s], seeds=(0, 2))]))
    with pytest.raises(ValueError, match="labels differ between a and b"):
        compare(pl.concat([score_frame("a", y, s), score_frame("b", 1 - y, s)]))
    with pytest.raises(ValueError, match="one .task, fraction, k. slice"):
        compare(pl.concat([score_frame("a", y, s), score_frame("b", y, s, fraction=0.5)]))
    with pytest.raises(ValueError, match="complete grid"):
        compare(pl.concat([score_frame("a", y, [s, s], seeds=(0, 1)).slice(1), score_frame("b", y, s)]))


def slice_frames(method, rng, y, signal):
    kw = {"pathologies": PATHOLOGIES, "pretrain_seeds": (0, 1), "seeds": (0, 1)}
    return [score_frame(method, y, rng.normal(size=(2, 2, 5, 60)) + signal * y, fraction=f, **kw)
            for f in (0.1, 1.0)] + [
        score_frame(method, y, rng.normal(size=(2, 2, 5, 60)) + signal * y, task="fewshot", fraction=None, k=4, **kw)]


def test_compare_methods_covers_every_pair_and_slice_deterministically():
    rng = np.random.default_rng(21)
    y = rng.integers(0, 2, (5, 60))
    frame = pl.concat([f for m, sig in (("igcl", 2.0), ("convirt", 1.0), ("random", 0.0))
                       for f in slice_frames(m, rng, y, sig)])
    methods = ["igcl", "convirt", "random"]
    out = compare_methods(frame, methods, baselines=["random"], n_bootstrap=200, level=0.95, seed=5)
    assert out.columns == COMPARISONS_SCHEMA.names
    assert out.height == 3 * 3 * 6  # pairs × (2 fractions + 1 few-shot k) × (5 pathologies + mean)
    pairs = out.select("method_a", "method_b", "baseline").unique(maintain_order=True).rows()
    assert pairs == [("igcl", "convirt", False), ("igcl", "random", True), ("convirt", "random", True)]
    slices = out.select("task", "fraction", "k").unique(maintain_order=True).rows()
    assert slices == [("fewshot", None, 4), ("linear", 0.1, None), ("linear", 1.0, None)]
    assert (out["n_bootstrap"] == 200).all() and (out["n"] == 60).all()
    assert out.equals(compare_methods(frame, methods, baselines=["random"], n_bootstrap=200, level=0.95, seed=5))
    # the point estimate does not depend on the draws; it matches paired_difference on the slice
    part = frame.filter(pl.col("task") == "linear", pl.col("fraction") == 0.1)
    direct = compare(part, "igcl", "random")
    got = out.filter(pl.col("task") == "linear", pl.col("fraction") == 0.1, pl.col("method_a") == "igcl",
                     pl.col("method_b") == "random")
    np.testing.assert_allclose(got["diff"].to_numpy(), [r["diff"] for r in direct], atol=1e-12)
    means = out.filter(pl.col("pathology") == "mean", pl.col("method_b") == "random")
    assert (means["verdict"] == means["method_a"] + " better").all()
