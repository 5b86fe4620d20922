# Helpers shared by every rule file: config validation, settings passed to stages, input functions.
import functools
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod


validate(config, "../workflow/schemas/config.schema.yaml")

PHANTOM_ROOT = "data/phantom"
SRC = Path(workflow.basedir) / "src" / "igcl"

# igcl's light modules (standard library only, so reading the workflow stays fast and needs no stage dependency):
# the one list of methods (which report side a method reads, at which pretraining seeds it runs), the data-root
# layouts, each section's dataclass and execution keys, and the static import walk behind the rules' code inputs.
sys.path.insert(0, str(SRC.parent))
from igcl.code_inputs import import_closure
from igcl.config import execution_keys
from igcl.data.columns import CHEXPERT_TEST_CSVS, PHANTOM_READERS_CSV
from igcl.data.roots import check_data_roots
from igcl.methods import GRAPHS, METHOD_NAMES, TEXT, check_method_settings, get_method, method_seeds
from igcl.workflow_config import SECTIONS, check_config, pretrain_job_values, section_class, split_execution

# Each data root exists and has its data set's layout (the string "null" from a command line means null), checked
# now, before any job: a wrong root must stop the run, not leave the manifests of an earlier root in use.
DATA_ROOTS = check_data_roots(config["data"])

# Variants: named copies of a registry method with pretrain overrides (ablations), e.g.
#   variants: {igcl_rgcn_mean: {method: igcl, pretrain: {graph: {pooling: rgcn_mean, transformer_layers: 0}}}}
# A variant is run, evaluated and compared under its own name, like a method.
VARIANTS = config.get("variants") or {}
for _name, _variant in VARIANTS.items():
    if _name in METHOD_NAMES:
        raise ValueError(f"config variants: {_name!r} is a method's own name; give the variant another name")
    _runtime_keys = sorted(set(_variant.get("pretrain", {})) & set(execution_keys(section_class("pretrain"))))
    if _runtime_keys:
        raise ValueError(f"config variants.{_name}.pretrain: {_runtime_keys} are execution keys (how a run executes, "
                         "not what it learns); set them in the pretrain section, for every run")
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


def run_pretrain_section(name):
    """The pretrain section one run reads: a variant's overrides merged in (a method's own name: unchanged)."""
    return merged(config["pretrain"], VARIANTS.get(name, {}).get("pretrain", {}))


# Every section as its stage will read it (each job's dataclass, every variant's pretrain section), checked now:
# a value that passes the schema but not its stage (heads not dividing hidden_dim, split fractions not summing to
# 1) stops the workflow before any job runs, not when its stage starts after the earlier ones.
check_config(config, {name: run_pretrain_section(name) for name in VARIANTS})
for _run in config["methods"]:
    check_method_settings(base_method(_run), augment_enabled=run_pretrain_section(_run)["augment"]["enabled"],
                          where=f"variants.{_run}.pretrain" if _run in VARIANTS else "pretrain")

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
    """A config section's science keys as one shell-quoted JSON argument: the rule's params, and so its rerun
    trigger. Execution keys (igcl.workflow_config) are left out (they travel in RUNTIME); so are ``without``: keys
    the rule's output does not depend on."""
    science, _ = split_execution(section, config[section])
    values = {key: value for key, value in science.items() if key not in without}
    return shlex.quote(json.dumps(values, sort_keys=True))


# Each section's execution keys as a shell-quoted JSON argument, for `--runtime {RUNTIME[section]}` in a rule's shell
# command: outside the params, so changing a worker count, a chunk size or the device reruns nothing.
RUNTIME = {section: shlex.quote(json.dumps(split_execution(section, config[section])[1], sort_keys=True))
           for section in SECTIONS}


@functools.cache  # input functions ask once per job; the walk reads ~40 files
def stage_sources(stage):
    """Every igcl source file that `igcl <stage>` can run (the import closure of igcl.cli.<stage>, plus the
    dispatcher), relative to the working directory: inputs, so editing any of them reruns exactly the stages that
    import it, and a moved or copied tree still matches its records."""
    files = import_closure([f"igcl.cli.{stage}"], SRC.parent) + [SRC / "cli" / "main.py"]
    return tuple(sorted({os.path.relpath(path) for path in files}))


def uses_phantom(dataset):
    return DATA_ROOTS[f"{dataset}_root"] is None


def get_mimic_root():
    return f"{PHANTOM_ROOT}/mimic-cxr-jpg" if uses_phantom("mimic") else DATA_ROOTS["mimic_root"]


def get_mimic_reports_root():
    return DATA_ROOTS["mimic_reports_root"] or get_mimic_root()


def get_chexpert_root():
    return f"{PHANTOM_ROOT}/CheXpert-v1.0-small" if uses_phantom("chexpert") else DATA_ROOTS["chexpert_root"]


# evaluate.radiologists: auto resolves to the readers that read the images being tested, or to none
SHIPPED_READERS = "src/igcl/evaluate/data/chexpert_test_radiologists.csv"  # published CheXpert-test radiologists


def get_radiologists_csv():
    """The reader CSV the evaluate jobs compare with, or None. ``auto``: the phantom's simulated readers when the
    phantom writes a test split; the shipped published readers when a real CheXpert root has the released test
    labels (those radiologists read exactly those images); otherwise none."""
    value = str(config["evaluate"]["radiologists"])
    if value.lower() == "none":
        return None
    if value != "auto":
        return value
    if uses_phantom("chexpert"):
        return f"{get_chexpert_root()}/{PHANTOM_READERS_CSV}" if config["phantom"]["eval_test_studies"] else None
    root = Path(get_chexpert_root())
    return SHIPPED_READERS if any((root / name).is_file() for name in CHEXPERT_TEST_CSVS) else None


def get_final_outputs():
    # get_report_outputs is defined in rules/report.smk; this runs when `rule all` is read, after every include.
    return get_report_outputs()
