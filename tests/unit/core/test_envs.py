"""Every conda environment in envs/ parses and pins exactly the versions pyproject.toml pins."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^;\s]+)$")


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    pins = {}
    for spec in specs:
        match = PIN.match(spec)
        assert match, f"pyproject.toml: {spec!r} is not pinned with =="
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_there_are_stage_environments():
    assert {p.stem for p in ENV_FILES} >= {"data", "parse", "torch", "report"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_match_pyproject(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] and env["dependencies"]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{env_file.name}: expected one pip section"
    pins = pyproject_pins()
    assert pip_sections[0], f"{env_file.name}: empty pip section"
    for spec in pip_sections[0]:
        match = PIN.match(spec)
        assert match, f"{env_file.name}: {spec!r} is not pinned with =="
        name, version = match.group(1).lower(), match.group(2)
        assert name in pins, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
        assert version == pins[name], f"{env_file.name}: {name}=={version}, pyproject.toml pins {pins[name]}"


def test_every_rule_env_exists():
    rules = "\n".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    for name in re.findall(r'conda:\s*\n\s*"\.\./envs/([\w-]+\.yaml)"', rules):
        assert (ROOT / "envs" / name).is_file(), name


def test_every_rule_declares_its_directives():
    """threads, resources, log, benchmark and a conda env on every rule (issue: per-rule resources on a cluster)."""
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for rule in re.split(r"^rule ", text, flags=re.M)[1:]:
            name = rule.split(":", 1)[0]
            for directive in ("log:", "benchmark:", "conda:", "threads:", "resources:"):
                assert f"\n    {directive}" in rule, f"{smk.name}: rule {name} lacks {directive}"
