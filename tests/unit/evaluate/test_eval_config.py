"""The evaluate/report config: config.yaml's sections build, schema defaults equal the dataclass defaults."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from igcl.config import from_mapping, to_dict
from igcl.evaluate.config import EvaluateConfig
from igcl.summary.config import ReportConfig

ROOT = Path(__file__).resolve().parents[3]


def schema_defaults(node):
    if node.get("type") == "object" and "properties" in node:
        return {k: schema_defaults(v) for k, v in node["properties"].items()}
    return node["default"]


@pytest.mark.parametrize("section, cls", [("evaluate", EvaluateConfig), ("report", ReportConfig)])
def test_config_yaml_and_schema_agree_with_the_dataclass(section, cls):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    defaults = to_dict(cls())
    assert to_dict(from_mapping(cls, config[section], where=section)) == defaults
    assert schema_defaults(schema["properties"][section]) == defaults


@pytest.mark.parametrize("values, message", [
    ({"linear": {"fractions": [0.0]}}, r"evaluate.linear.fractions: fraction 0.0 is not in \(0, 1\]"),
    ({"fewshot": {"k": [0]}}, "evaluate.fewshot.k"),
    ({"finetune": {"epochs": 0}}, "evaluate.finetune.epochs"),
    ({"retrieval": {"per_class": 0}}, "evaluate.retrieval.per_class"),
    ({"seeds": [1, 1]}, "repeat a seed"),
    ({"device": "tpu"}, "evaluate.device"),
    ({"zeroshot": {"templates": [["{}"]]}}, "evaluate.zeroshot.templates"),
    ({"zeroshot": {"templates": [["effusion", "no effusion"]]}}, r"exactly one \{\}"),
    ({"zeroshot": {"prompts": {"Pneumonia": [["a", "b"]]}}}, "unknown pathology 'Pneumonia'"),
    ({"zeroshot": {"graphs": {"Edema": {"positive": [{"nodes": [{"text": "edema", "label": "OBS-XX"}]}],
                                        "negative": [{"nodes": []}]}}}}, r"graphs.Edema.positive\[0\].nodes\[0\]: label"),
    ({"zeroshot": {"graphs": {"Edema": {"positive": [{"nodes": [{"text": "edema", "label": "OBS-DP"}],
                                                      "edges": [{"src": 0, "dst": 3, "relation": "modify"}]}],
                                        "negative": [{"nodes": []}]}}}}, "dst 3 is not a node index"),
    ({"thresholds": {"rule": "max"}}, "evaluate.thresholds.rule"),
    ({"radiologists": ""}, "evaluate.radiologists"),
])
def test_bad_values_name_their_key(values, message):
    with pytest.raises(ValueError, match=message):
        from_mapping(EvaluateConfig, values, where="evaluate")


def test_report_config_checks():
    with pytest.raises(ValueError, match="report.roc_fraction"):
        ReportConfig(roc_fraction=2.0)
    assert dataclasses.replace(ReportConfig(), dpi=60).dpi == 60
