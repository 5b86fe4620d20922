"""Every stage has one driver of one shape, ``run_<stage>(config, inputs, outputs, *, job options) -> Sidecar``,
and its CLI calls it."""

import importlib
import inspect
import json
from pathlib import Path

import pytest

from igcl.cli.main import STAGES
from igcl.io import Sidecar, read_sidecar, write_sidecar

DRIVERS = {  # stage -> the module that defines run_<stage>
    "phantom": "igcl.data.phantom.writer",
    "ingest": "igcl.data.ingest",
    "parse": "igcl.reports.stage",
    "node_features": "igcl.reports.node_features",
    "images": "igcl.data.imageshards.build",
    "pretrain": "igcl.train.loop",
    "prompts": "igcl.evaluate.prompt_parse",
    "evaluate": "igcl.evaluate.pipeline",
    "report": "igcl.summary.report",
}


def test_every_stage_has_a_driver():
    assert set(DRIVERS) == set(STAGES)


@pytest.mark.parametrize("stage", sorted(DRIVERS))
def test_the_driver_has_the_one_shape_and_the_cli_calls_it(stage):
    driver = getattr(importlib.import_module(DRIVERS[stage]), f"run_{stage}")
    params = list(inspect.signature(driver).parameters.values())
    assert [p.name for p in params[:3]] == ["config", "inputs", "outputs"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[3:]), "job options are keyword-only"
    assert inspect.signature(driver).return_annotation in ("Sidecar", "Sidecar | None")
    cli = inspect.getsource(importlib.import_module(STAGES[stage][0]))
    assert f"run_{stage}(" in cli


def test_read_sidecar_returns_what_write_sidecar_wrote(tmp_path):
    out = tmp_path / "table.parquet"
    out.write_bytes(b"x")
    write_sidecar(out, config={"a": 1}, rows={"rows": 3}, seconds=1.23456, extra={"note": "n"})
    sidecar = read_sidecar(out)
    assert isinstance(sidecar, Sidecar)
    assert (sidecar.output, sidecar.config, sidecar.rows, sidecar.seconds) == (str(out), {"a": 1}, {"rows": 3}, 1.235)
    assert sidecar.extra["note"] == "n" and "packages" in sidecar.extra


def test_read_sidecar_errors_name_the_file(tmp_path):
    out = tmp_path / "x.parquet"
    with pytest.raises(ValueError, match="no sidecar beside"):
        read_sidecar(out)
    Path(f"{out}.meta.json").write_text(json.dumps({"output": "x"}))
    with pytest.raises(ValueError, match=r"x.parquet.meta.json: not a sidecar \(needs the keys"):
        read_sidecar(out)
