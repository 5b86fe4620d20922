"""Retrieval: query selection, precision@k by hand, and the whole task with a model that knows the classes."""

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from evaldata_builders import FINDING_WORDS, make_retrieval_inputs
from igcl.data.imageshards.reader import ImageShard, normalize_images
from igcl.evaluate.context import Forward, Intervals
from igcl.evaluate.retrieval import (RetrievalData, precision_at_k, read_graphs, read_reports, run_retrieval,
                                     select_queries, single_label_studies)
from igcl.evaluate.targets import read_image_table
from igcl.labels import COMPETITION_PATHOLOGIES


def test_precision_at_k_by_hand():
    similarity = np.array([[0.9, 0.8, 0.1, 0.0],
                           [0.1, 0.2, 0.3, 0.9]])
    query = np.array([0, 1])
    candidates = np.array([0, 1, 0, 1])
    np.testing.assert_allclose(precision_at_k(similarity, query, candidates, 1), [1.0, 1.0])
    np.testing.assert_allclose(precision_at_k(similarity, query, candidates, 2), [0.5, 0.5])
    np.testing.assert_allclose(precision_at_k(similarity, query, candidates, 10), [0.5, 0.5])  # k capped at C


def test_single_label_queries_and_per_class_cap(tmp_path):
    inputs = make_retrieval_inputs(tmp_path, per_class=6)
    table = read_image_table(inputs["index"]).select("test", ("PA", "AP"))
    pool = single_label_studies(table, ("PA", "AP"))
    assert len(pool.index) == 30  # the two-positive study is not a query
    assert np.bincount(pool.classes).tolist() == [6] * 5
    assert len(set(pool.study_ids)) == 30 and set(table.views[pool.index]) == {"PA"}
    a = select_queries(pool, 4, 5, np.random.default_rng(0))
    b = select_queries(pool, 4, 5, np.random.default_rng(0))
    c = select_queries(pool, 4, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.bincount(pool.classes[a]).tolist() == [4] * 5
    assert len(select_queries(pool, 200, 5, np.random.default_rng(0))) == 30  # phantom-sized: all of them


class OracleModel:
    """Images → one-hot of their brightest band (the builders draw one band per positive pathology);
    reports → one-hot of the finding word in the text. Retrieval with it must be perfect."""

    def embed_images(self, x):
        bands = torch.stack([x[:, 0, 6 * p:6 * p + 5].mean(dim=(1, 2)) for p in range(5)], dim=1)
        return torch.nn.functional.one_hot(bands.argmax(dim=1), 5).float()

    def embed_reports(self, texts, graphs):
        words = list(FINDING_WORDS.values())
        assert [g["nodes"][0]["text"] for g in graphs] == [next(w for w in words if w in t) for t in texts]
        return torch.nn.functional.one_hot(torch.tensor([next(i for i, w in enumerate(words) if w in t)
                                                         for t in texts]), 5).float()


def test_run_retrieval_with_an_oracle_is_perfect(tmp_path):
    inputs = make_retrieval_inputs(tmp_path, per_class=3)
    shard = ImageShard(inputs["images"], inputs["index"])
    table = read_image_table(inputs["index"]).select("test", ("PA",))
    data = RetrievalData(table, shard.array, normalize_images, manifest=inputs["manifest"], graphs_dir=inputs["graphs"])
    rows, info = run_retrieval(OracleModel(), data, method="oracle", pathologies=COMPETITION_PATHOLOGIES,
                               views=("PA",), per_class=2, ks=(1, 3), seeds=(0,),
                               forward=Forward(4, torch.device("cpu"), None), intervals=Intervals(20, 0.95))
    assert info["pool_per_class"] == dict.fromkeys(COMPETITION_PATHOLOGIES, 3)
    by = {(r["k"], r["pathology"]): r for r in rows}
    assert by[(1, "mean")]["precision"] == 1.0 and by[(1, "mean")]["n"] == 10
    # k = 3 with 2 same-class candidates: at best 2 of 3 hits
    assert by[(3, "mean")]["precision"] == pytest.approx(2 / 3)
    assert by[(1, "Edema")]["n_pos"] == 2


def test_missing_graph_names_the_studies(tmp_path):
    inputs = make_retrieval_inputs(tmp_path, per_class=1)
    with pytest.raises(ValueError, match=r"1 of the 1 query studies have no graph, e.g. study s9 \(rerun the parse stage"):
        read_graphs(inputs["graphs"], ["s9"])
    with pytest.raises(FileNotFoundError, match="nowhere: no such graph shard directory"):
        read_graphs(tmp_path / "nowhere", ["s9"])


def test_the_report_and_graph_readers_are_the_shared_ones(tmp_path):
    """Retrieval reads through the one reader of each table: a duplicate graph is an error here as in training."""
    inputs = make_retrieval_inputs(tmp_path, per_class=1)
    part = next(inputs["graphs"].glob("part-*.parquet"))
    (inputs["graphs"] / "part-0001.parquet").write_bytes(part.read_bytes())  # every study twice
    study = pq.read_table(part).column("study_id")[0].as_py()
    with pytest.raises(ValueError, match=f"study {study} has a second graph"):
        read_graphs(inputs["graphs"], [study])
    assert "FINDINGS" in read_reports(inputs["manifest"], [study])[0]
