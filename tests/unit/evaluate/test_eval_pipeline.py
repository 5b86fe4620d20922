"""The evaluate stage's start: what a killed or failed earlier run left beside the tables goes first."""

from pathlib import Path

import pytest
from evaldata_builders import save_checkpoint

from igcl.evaluate.config import EvaluateConfig
from igcl.evaluate.pipeline import EvaluateInputs, run_evaluation


def test_orphan_sidecars_and_temporaries_of_the_tables_are_removed_at_start(tmp_path):
    checkpoint = save_checkpoint(tmp_path / "ckpt", "image_only")
    out = tmp_path / "eval"
    out.mkdir()
    (out / "linear.parquet.meta.json").write_text("{}")  # Snakemake deleted the failed run's table, not this
    (out / ".scores.parquet.k1lled00.tmp").write_bytes(b"half")
    (out / "fewshot.parquet").write_bytes(b"table")  # a table that is there keeps its sidecar
    (out / "fewshot.parquet.meta.json").write_text("{}")
    missing = Path(tmp_path / "missing")
    inputs = EvaluateInputs(checkpoint_dir=checkpoint, eval_images=missing, eval_index=missing,
                            retrieval_images=missing, retrieval_index=missing, manifest=missing, graphs_dir=missing)
    with pytest.raises(ValueError, match="evaluated as 'igcl'"):  # stops right after loading the checkpoint
        run_evaluation(EvaluateConfig(), method="igcl", inputs=inputs, out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["fewshot.parquet", "fewshot.parquet.meta.json"]
