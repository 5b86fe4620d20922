"""Every config section's defaults agree in the three places they are written: config.yaml, the JSON schema and the
section's dataclass (tests/unit/evaluate/test_eval_config.py did this for two sections; this covers all)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from igcl.workflow_config import SECTIONS, section_class

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
# keys the workflow turns into a job's own value: pretrain.seeds (a list) -> each job's pretrain.seed
WORKFLOW_KEYS = {"pretrain": {"seeds": "seed"}}


def schema_defaults(node: dict[str, Any]) -> Any:
    if node.get("type") == "object" and "properties" in node:
        return {key: schema_defaults(child) for key, child in node["properties"].items()}
    return node.get("default", "<no default>")


def dataclass_defaults(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = "<no default>"
        if dataclasses.is_dataclass(value):
            value = dataclass_defaults(type(value))
        out[f.name] = _lists(value)
    return out


def _lists(value: Any) -> Any:
    """Tuples (nested ones too: prompt pairs) as the lists YAML writes."""
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _with_workflow_keys(section: str, values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for listed, job_key in WORKFLOW_KEYS.get(section, {}).items():
        values.pop(listed, None)
        values[job_key] = 0  # the first seed, as the dataclass default
    return values


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_config_yaml_schema_and_dataclass_defaults_agree(section):
    from_dataclass = dataclass_defaults(section_class(section))
    from_schema = _with_workflow_keys(section, schema_defaults(SCHEMA["properties"][section]))
    from_config = _with_workflow_keys(section, CONFIG[section])
    assert from_schema == from_dataclass, f"{section}: schema defaults differ from the dataclass"
    assert from_config == from_dataclass, f"{section}: config.yaml differs from the dataclass defaults"
