"""``igcl phantom`` end to end on a tiny config, and its config errors."""

import gzip
import json

import pytest

from igcl.cli.phantom import main
from igcl.data.phantom import PhantomConfig


def test_cli_writes_both_trees_and_sidecars(tmp_path):
    settings = json.dumps({"seed": 2, "pretrain_studies": 6, "eval_train_studies": 4, "eval_valid_studies": 3,
                           "image_size": 48})
    mimic, chexpert = tmp_path / "mimic-cxr-jpg", tmp_path / "CheXpert-v1.0-small"
    assert main(["--settings", settings, "--mimic-out", str(mimic), "--chexpert-out", str(chexpert),
                 "--threads", "2", "--log", str(tmp_path / "phantom.log")]) == 0
    rows = gzip.decompress((mimic / "mimic-cxr-2.0.0-chexpert.csv.gz").read_bytes()).decode().splitlines()
    assert len(rows) == 1 + 6
    assert (chexpert / "train.csv").read_text().count("\n") >= 1 + 4
    meta = json.loads((tmp_path / "mimic-cxr-jpg.meta.json").read_text())
    assert meta["config"]["seed"] == 2 and meta["rows"]["mimic_studies"] == 6
    assert "phantom: done" in (tmp_path / "phantom.log").read_text()
    chexpert_meta = json.loads((tmp_path / "CheXpert-v1.0-small.meta.json").read_text())
    assert chexpert_meta["rows"]["chexpert_train_studies"] == 4 and "mimic_studies" not in chexpert_meta["rows"]


def test_cli_writes_one_tree_and_needs_at_least_one(tmp_path, capsys):
    settings = json.dumps({"seed": 2, "pretrain_studies": 6, "eval_train_studies": 4, "eval_valid_studies": 3,
                           "image_size": 48})
    chexpert = tmp_path / "CheXpert-v1.0-small"
    assert main(["--settings", settings, "--chexpert-out", str(chexpert)]) == 0
    assert (chexpert / "valid.csv").exists() and not (tmp_path / "mimic-cxr-jpg").exists()
    with pytest.raises(SystemExit):
        main(["--settings", settings])
    assert "give --mimic-out, --chexpert-out or both" in capsys.readouterr().err


@pytest.mark.parametrize("settings, key", [
    ({"image_size": 8}, "phantom.image_size"),
    ({"lateral_fraction": 1.5}, "phantom.lateral_fraction"),
    ({"pretrain_studies": 0}, "phantom.pretrain_studies"),
    ({"eval_test_studies": -1}, "phantom.eval_test_studies"),
    ({"train_fraction": 0.9}, "train_fraction"),
    ({"jpeg_quality": "high"}, "phantom.jpeg_quality"),
    ({"sed": 1}, "sed"),
])
def test_bad_settings_name_the_key(tmp_path, settings, key):
    with pytest.raises(ValueError, match=key):
        main(["--settings", json.dumps(settings), "--mimic-out", str(tmp_path / "m"),
              "--chexpert-out", str(tmp_path / "c")])
    assert not (tmp_path / "m").exists()


def test_config_defaults_match_config_yaml():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    section = yaml.safe_load((root / "config.yaml").read_text())["phantom"]
    assert PhantomConfig() == PhantomConfig(**section)
    cfg = PhantomConfig()
    assert (cfg.pretrain_studies, cfg.eval_train_studies, cfg.eval_valid_studies) == (2400, 2000, 200)
    assert cfg.eval_test_studies == 500  # the real CheXpert test set's size
    assert (cfg.train_fraction, cfg.validate_fraction, cfg.test_fraction) == (0.8, 0.05, 0.15)
