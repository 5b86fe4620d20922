# Helpers shared by every rule file: config validation, settings passed to stages, input functions.
import json
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod


validate(config, "../workflow/schemas/config.schema.yaml")

PHANTOM_ROOT = "data/phantom"
SRC = Path(workflow.basedir) / "src" / "igcl"

# The one list of methods (src/igcl/methods.py): the rules ask it which report side a method reads and at which
# pretraining seeds it runs. It imports nothing heavy, so reading it here costs nothing.
sys.path.insert(0, str(SRC.parent))
from igcl.methods import GRAPHS, METHOD_NAMES, TEXT, get_method, method_seeds

# Variants: named copies of a registry method with pretrain overrides (ablations), e.g.
#   variants: {igcl_rgcn_mean: {method: igcl, pretrain: {graph: {pooling: rgcn_mean, transformer_layers: 0}}}}
# A variant is run, evaluated and compared under its own name, like a method.
VARIANTS = config.get("variants") or {}
for _name, _variant in VARIANTS.items():
    if _name in METHOD_NAMES:
        raise ValueError(f"config variants: {_name!r} is a method's own name; give the variant another name")
    if _variant["method"] not in METHOD_NAMES:
        raise ValueError(f"config variants.{_name}.method: unknown method {_variant['method']!r}; known methods: "
                         f"{', '.join(METHOD_NAMES)}")
for _method in config["methods"]:
    if _method not in METHOD_NAMES and _method not in VARIANTS:
        raise ValueError(f"config methods: unknown method {_method!r}; known methods: {', '.join(METHOD_NAMES)}"
                         + (f"; variants: {', '.join(VARIANTS)}" if VARIANTS else ""))
METHOD_PATTERN = "|".join(sorted((*METHOD_NAMES, *VARIANTS), key=len, reverse=True))


def base_method(name):
    """The registry method a run name stands for (itself, or a variant's method)."""
    return VARIANTS[name]["method"] if name in VARIANTS else name


def method_entry(name):
    return get_method(base_method(name))


def method_runs():
    """(run name, pretraining seed) of every pretrain and evaluate job: one per seed of pretrain.seeds, once for an
    unseeded method (pixels: the same encoder at any seed)."""
    seeds = config["pretrain"]["seeds"]
    return [(m, seed) for m in config["methods"] for seed in method_seeds(base_method(m), seeds)]


def merged(base, overrides):
    """``base`` with ``overrides`` merged in, nested mappings key by key (neither is modified)."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out

# Rules run `igcl <stage>` from this checkout's src/ with the job's Python: under --use-conda the stage's conda
# environment (envs/*.yaml hold igcl's dependencies, not igcl), otherwise the interpreter running Snakemake, so a
# run through .venv/bin/snakemake works without activating the environment.
# (Snakemake formats the prefix like a shell command, hence the doubled braces.)
JOB_PYTHON = "python" if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method else sys.executable
shell.prefix(
    f"export PYTHONPATH={shlex.quote(str(SRC.parent))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f'igcl() {{{{ {shlex.quote(JOB_PYTHON)} -m igcl.cli.main "$@"; }}}}; '
)


def settings(section, without=()):
    """A config section as one shell-quoted JSON argument: the rule's params, and so its rerun trigger.
    ``without``: keys the rule's output does not depend on (left out, so changing them does not rerun it)."""
    values = {key: value for key, value in config[section].items() if key not in without}
    return shlex.quote(json.dumps(values, sort_keys=True))


def stage_sources(*parts):
    """The source files a stage runs (package-relative files or folders), inputs so a code change reruns it."""
    files = []
    for part in parts:
        path = SRC / part
        if path.is_dir():
            files += sorted(str(p) for p in path.rglob("*.py"))
        else:
            files.append(str(path))
    return files


def uses_phantom(dataset):
    return config["data"][f"{dataset}_root"] is None


def get_mimic_root():
    return f"{PHANTOM_ROOT}/mimic-cxr-jpg" if uses_phantom("mimic") else config["data"]["mimic_root"]


def get_mimic_reports_root():
    return config["data"]["mimic_reports_root"] or get_mimic_root()


def get_chexpert_root():
    return f"{PHANTOM_ROOT}/CheXpert-v1.0-small" if uses_phantom("chexpert") else config["data"]["chexpert_root"]


def get_final_outputs():
    # get_report_outputs is defined in rules/report.smk; this runs when `rule all` is read, after every include.
    return get_report_outputs()
