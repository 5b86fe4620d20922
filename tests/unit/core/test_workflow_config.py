"""config.yaml as the workflow reads it: every section checked up front, execution keys apart from the science."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from igcl.config import execution_keys, from_json
from igcl.workflow_config import SECTIONS, check_config, section_class, split_execution

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_default_config_passes(config):
    check_config(config)


def test_every_section_of_config_yaml_has_a_dataclass(config):
    assert set(SECTIONS) == set(config) - {"methods", "variants", "data"}


@pytest.mark.parametrize("change, message", [
    ({"pretrain": {"graph": {"heads": 3}}}, "heads"),
    ({"pretrain": {"text": {"heads": 5}}}, "heads"),
    ({"phantom": {"train_fraction": 0.5}}, "must sum to 1"),
    ({"graphs": {"source": "radgraph_json"}}, "radgraph_json must name"),
    ({"pretrain": {"batch_size": 30, "grad_accum_steps": 4}}, "multiple of grad_accum_steps"),
    ({"pretrain": {"graph": {"pooling": "reaction_node", "transformer_layers": 0}}}, "renamed 'dummy_readout'"),
    ({"pretrain": {"graph": {"pooling": "nodes", "transformer_layers": 0}}}, r"transformer_layers >= 1"),
])
def test_cross_field_errors_are_raised_from_the_config_alone(config, change, message):
    for section, values in change.items():
        for key, value in values.items():
            if isinstance(value, dict):
                config[section][key].update(value)
            else:
                config[section][key] = value
    with pytest.raises(ValueError, match=message):
        check_config(config)


def test_a_variants_pretrain_section_is_checked_too(config):
    variant = copy.deepcopy(config["pretrain"])
    variant["graph"]["heads"] = 3
    with pytest.raises(ValueError, match="variants.bad.pretrain"):
        check_config(config, {"bad": variant})


def test_execution_keys_are_the_documented_ones():
    assert set(execution_keys(section_class("pretrain"))) == {
        "checkpoint_every", "num_workers", "tensorboard", "max_val_pairs", "device"}
    assert set(execution_keys(section_class("evaluate"))) == {"batch_size", "device"}
    assert set(execution_keys(section_class("graphs"))) == {"chunk_size", "batch_size"}
    for section in ("phantom", "ingest", "images", "report"):
        assert execution_keys(section_class(section)) == ()


def test_split_execution_partitions_a_section(config):
    science, execution = split_execution("pretrain", config["pretrain"])
    assert set(science) | set(execution) == set(config["pretrain"]) and not set(science) & set(execution)
    assert execution["tensorboard"] is True and "tensorboard" not in science and "epochs" in science


def test_runtime_json_overrides_only_execution_keys():
    cls = section_class("evaluate")
    cfg = from_json(cls, json.dumps({"batch_size": 8}), runtime=json.dumps({"batch_size": 16, "device": "cpu"}))
    assert (cfg.batch_size, cfg.device) == (16, "cpu")
    with pytest.raises(ValueError, match=r"runtime settings may hold only execution keys .* got \['n_bootstrap'\]"):
        from_json(cls, "{}", runtime=json.dumps({"n_bootstrap": 3}))


def test_reading_the_config_loads_no_stage_dependency():
    """The workflow runs check_config at DAG-build time: it must not import numpy, pyarrow, PIL, torch or spaCy."""
    code = ("import sys, yaml, igcl.workflow_config as w, igcl.data.roots, igcl.code_inputs, igcl.methods; "
            "w.check_config(yaml.safe_load(open('config.yaml'))); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'pyarrow', 'polars', 'PIL', 'torch', 'spacy', 'sklearn'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]"


def test_config_yaml_marks_exactly_the_execution_keys():
    """config.yaml's "[execution]" comments document what the dataclasses mark (top-level keys of each section)."""
    marked: dict[str, set[str]] = {}
    section = None
    for line in (ROOT / "config.yaml").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            section = line.split(":")[0]
        elif line.startswith("  ") and not line.startswith("   ") and "# [execution]" in line:
            marked.setdefault(section, set()).add(line.split(":")[0].strip())
    expected = {name: set(execution_keys(section_class(name))) for name in SECTIONS}
    assert marked == {name: keys for name, keys in expected.items() if keys}


def _merged(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _preset(config: dict, *names: str) -> dict:
    for name in names:
        config = _merged(config, yaml.safe_load((ROOT / "config" / name).read_text()))
    return config


def test_the_presets_pass_the_config_check(config):
    check_config(_preset(config, "gpu.yaml"))
    check_config(_preset(config, "study.yaml"))
    cpu = _preset(config, "paper_igcl.yaml", "paper_igcl_cpu.yaml")
    check_config(cpu)
    graph = cpu["pretrain"]["graph"]
    assert (graph["pooling"], graph["heads"], graph["fc_layers"], graph["virtual_nodes_when"]) == (
        "reaction", 2, 2, "isolated_node")
    assert cpu["images"]["resize"] == "pad" and cpu["pretrain"]["augment"]["enabled"] is False


def test_the_paper_preset_names_the_weights_a_user_must_bring(config):
    with pytest.raises(ValueError, match=r"pretrain.image.weights: weights/vit_base_patch32_clip_224.openai"
                                         r".safetensors does not exist"):
        check_config(_preset(config, "paper_igcl.yaml"))


def test_image_only_without_augmentation_is_an_error():
    from igcl.methods import check_method_settings

    with pytest.raises(ValueError, match="image_only contrasts two augmented views"):
        check_method_settings("image_only", augment_enabled=False)
    check_method_settings("image_only", augment_enabled=True)
    check_method_settings("igcl", augment_enabled=False)  # the IGCL authors train without augmentation
