"""The Snakemake workflow itself: a real run on a tiny config in a copy of the repository, then dry runs that
show exactly which jobs a change plans (params, code and input triggers), and the cluster profile's plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).with_name("tiny_config.yaml")
COPIED = ("Snakefile", "config.yaml", "rules", "workflow", "envs", "src", "config")
METHODS = ("igcl", "convirt", "image_only", "random", "pixels")
# every job that reads data; the prompts job (igcl's zero-shot prompts parsed into graphs) reads only the config
DATA_JOBS = {"phantom": 2, "ingest": 2, "images": 2, "parse": 1, "pretrain": 5, "evaluate": 5, "report": 1}
ALL_JOBS = {**DATA_JOBS, "prompts": 1}

pytestmark = pytest.mark.slow


# Installed on the PYTHONPATH of the real run: each `igcl <stage>` process writes, at exit, the igcl files it loaded.
IMPORT_HOOK = """
import atexit, os, sys

def _record():
    if len(sys.argv) > 1 and sys.argv[0].endswith(os.path.join("igcl", "cli", "main.py")):
        files = sorted(m.__file__ for n, m in list(sys.modules.items())
                       if n.split(".")[0] == "igcl" and getattr(m, "__file__", None))
        out = os.path.join(os.environ["IGCL_IMPORT_RECORDS"], f"{sys.argv[1]}-{os.getpid()}.txt")
        with open(out, "w") as handle:
            handle.write("\\n".join(files))

atexit.register(_record)
"""


def import_recording_env(workdir: Path) -> dict[str, str]:
    hook, records = workdir / "import_hook", workdir / "imports"
    hook.mkdir()
    records.mkdir()
    (hook / "sitecustomize.py").write_text(IMPORT_HOOK)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(hook) + (os.pathsep + path if path else ""),
            "IGCL_IMPORT_RECORDS": str(records)}


def snakemake(workdir: Path, *args: str, check: bool = True,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(TINY), *args]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def _write(workdir: Path, change: str) -> Path:
    override = workdir / "change.yaml"
    override.write_text(change + "\n")
    return override


def planned_jobs(workdir: Path, change: str | None = None, *args: str) -> dict[str, int]:
    """The dry run's job counts per rule (without `all`), read from its 'Job stats' table.

    ``change`` is YAML merged over the tiny config (a second --configfile: typed values, unlike --config's strings).
    """
    if change is not None:
        args = ("--configfile", str(TINY), str(_write(workdir, change)), *args)
    result = snakemake(workdir, "-n", *args)
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    counts = Counter()
    for name, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M):
        if name not in ("total", "all"):
            counts[name] = int(count)
    return dict(counts)


def copy_workflow(workdir: Path) -> Path:
    """The workflow and its sources (no outputs) copied into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, workdir / name)
    return workdir


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    """A copy of the workflow and its sources, run once to completion on the tiny config."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    snakemake(workdir, env=import_recording_env(workdir))
    return workdir


def test_full_run_writes_the_report(pipeline):
    import polars as pl

    summary = (pipeline / "results" / "summary.md").read_text()
    for method in METHODS:
        assert f"| {method} |" in summary
    assert "## Paired differences of mean AUROC (linear probe)" in summary
    # the phantom writes a CheXpert test split: scores on test, thresholds from valid, its simulated readers
    assert "test on the CheXpert test split (thresholds of the thresholded metrics are chosen on valid)" in summary
    zeroshot = summary.split("## Zero-shot classification (prompt pairs, CheXpert test)")[1].split("\n## ")[0]
    for method in METHODS:  # a row for every method: scores for those with a report encoder, n/a for the others
        row = next(line for line in zeroshot.splitlines() if line.startswith(f"| {method} |"))
        assert ("n/a" in row) == (method not in ("igcl", "convirt")), row
    assert "## Thresholded metrics (CheXpert test, thresholds chosen on valid)" in summary
    assert "## Radiologist operating points" in summary and "simulated" in summary
    tables = pipeline / "results" / "eval"
    assert pl.read_parquet(tables / "igcl" / "seed0" / "zeroshot.parquet").height == 7  # 5 + mean + accuracy
    assert pl.read_parquet(tables / "image_only" / "seed0" / "zeroshot.parquet").height == 0
    assert pl.read_parquet(tables / "pixels" / "seed0" / "radiologists.parquet")["reader"].n_unique() == 3
    for figure in ("label_efficiency", "roc", "retrieval"):
        assert (pipeline / "results" / "figures" / f"{figure}.png").stat().st_size > 1000
    for method in METHODS:
        assert (pipeline / "results" / "pretrain" / method / "seed0" / "checkpoint.safetensors").is_file()
        assert (pipeline / "logs" / "pretrain" / method / "seed0.log").is_file()
        assert (pipeline / "benchmarks" / "evaluate" / method / "seed0.tsv").is_file()
    comparisons = pl.read_parquet(pipeline / "results" / "comparisons.parquet")
    pairs = set(comparisons.select("method_a", "method_b").unique().iter_rows())
    assert len(pairs) == len(METHODS) * (len(METHODS) - 1) // 2
    assert comparisons.filter(pl.col("method_b") == "pixels")["baseline"].all()


def test_complete_run_has_nothing_to_do(pipeline):
    assert planned_jobs(pipeline) == {}


def test_evaluation_value_reruns_evaluate_and_report_only(pipeline):
    assert planned_jobs(pipeline, "evaluate: {n_bootstrap: 21}") == {"evaluate": 5, "report": 1}


def test_report_value_reruns_report_only(pipeline):
    assert planned_jobs(pipeline, "report: {dpi: 90}") == {"report": 1}


def test_parse_value_reruns_parse_and_downstream(pipeline):
    # convirt reads report text, image_only and the baselines no reports: only igcl's pretraining and its
    # retrieval evaluation use the graphs.
    assert planned_jobs(pipeline, "graphs: {rows_per_shard: 7}") == {
        "parse": 1, "pretrain": 1, "evaluate": 1, "report": 1}


def test_pretrain_value_reruns_pretrain_and_downstream(pipeline):
    assert planned_jobs(pipeline, "pretrain: {epochs: 2}") == {"pretrain": 5, "evaluate": 5, "report": 1}


def test_adding_a_pretraining_seed_plans_only_that_seeds_jobs(pipeline):
    """seeds [0] -> [0, 1]: one pretrain and one evaluate job per seeded method at seed 1 (pixels is unseeded:
    its one encoder stays), then the report; nothing of seed 0 reruns."""
    assert planned_jobs(pipeline, "pretrain: {seeds: [0, 1]}") == {"pretrain": 4, "evaluate": 4, "report": 1}
    result = snakemake(pipeline, "-n", "-p", "--configfile", str(TINY),
                       str(_write(pipeline, "pretrain: {seeds: [0, 1]}")))
    text = result.stdout + result.stderr
    planned = set(re.findall(r"output: (results/(?:pretrain|eval)/\w+/seed\d+)/", text))
    seeded = ("igcl", "convirt", "image_only", "random")
    assert planned == {f"results/pretrain/{m}/seed1" for m in seeded} | {f"results/eval/{m}/seed1" for m in seeded}
    # the report reads both seeds of the seeded methods and pixels' one run
    assert "results/eval/igcl/seed0 results/eval/igcl/seed1" in text and "results/eval/pixels/seed0" in text


def test_phantom_seed_reruns_everything(pipeline):
    assert planned_jobs(pipeline, "phantom: {seed: 1}") == DATA_JOBS


def test_evaluation_set_size_leaves_pretraining_alone(pipeline):
    """The CheXpert tree is its own job: a bigger evaluation set re-ingests and re-evaluates, no pretraining."""
    assert planned_jobs(pipeline, "phantom: {eval_train_studies: 31}") == {
        "phantom": 1, "ingest": 1, "images": 1, "evaluate": 5, "report": 1}


def test_test_split_size_rewrites_only_the_chexpert_tree_and_evaluation(pipeline):
    assert planned_jobs(pipeline, "phantom: {eval_test_studies: 7}") == {
        "phantom": 1, "ingest": 1, "images": 1, "evaluate": 5, "report": 1}


def test_pretraining_set_size_leaves_the_chexpert_tree_alone(pipeline):
    expected = {**DATA_JOBS, "phantom": 1, "ingest": 1, "images": 1}
    assert planned_jobs(pipeline, "phantom: {pretrain_studies: 41, test_fraction: 0.2, train_fraction: 0.75}") == \
        expected


def test_parser_source_change_reruns_parse_and_downstream_only(pipeline):
    parser = pipeline / "src" / "igcl" / "reports" / "parser.py"
    original = parser.read_text()
    try:
        parser.write_text(original + "\n# an edit\n")
        # evaluate does not import the parser: only igcl's evaluation reruns, through its graphs and prompt graphs
        assert planned_jobs(pipeline) == {"parse": 1, "prompts": 1, "pretrain": 1, "evaluate": 1, "report": 1}
    finally:
        parser.write_text(original)
        # restore the old mtime ordering: the output is newer than the source again
        subprocess.run(["touch", "-d", "2000-01-01", str(parser)], check=True)


def test_slurm_profile_plans_every_job_with_a_gpu_for_pretrain(pipeline):
    result = snakemake(pipeline, "--profile", str(ROOT / "workflow" / "profiles" / "slurm"), "-n", "--forceall")
    text = result.stdout + result.stderr
    stats = text.split("Job stats:", 1)[1]
    for rule, count in ALL_JOBS.items():
        assert re.search(rf"^{rule}\s+{count}$", stats, flags=re.M), rule
    pretrain_jobs = [block for block in text.split("rule ") if block.startswith("pretrain:")]
    assert len(pretrain_jobs) == 5
    assert all(re.search(r"\bgpu=1\b", block) for block in pretrain_jobs)
    other_jobs = [block for block in text.split("rule ") if block.startswith(("evaluate:", "parse:"))]
    assert other_jobs and not any(re.search(r"\bgpu=[1-9]", block) for block in other_jobs)


def test_torchrun_two_cpu_processes_write_one_checkpoint(pipeline, tmp_path):
    """Multi-process pretraining as the rule launches it for several GPUs, here on CPU over gloo."""
    import json

    import yaml

    config = yaml.safe_load((pipeline / "config.yaml").read_text())
    tiny = yaml.safe_load(TINY.read_text())
    settings = config["pretrain"]
    for key, value in tiny["pretrain"].items():
        settings[key] = {**settings[key], **value} if isinstance(value, dict) else value
    settings["device"] = "cpu"
    settings["seed"] = settings.pop("seeds")[0]  # what the rule passes each (method, seed) job
    out = tmp_path / "igcl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "--", "igcl.cli.main", "pretrain", "--settings", json.dumps(settings), "--method", "igcl",
           "--images", "data/images/pretrain.npy", "--image-index", "data/images/pretrain.index.parquet",
           "--graphs", "data/graphs", "--out", str(out), "--threads", "1", "--log", str(tmp_path / "ddp.log")]
    result = subprocess.run(cmd, cwd=pipeline, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["checkpoint.safetensors"]
    meta = json.loads((out / "config.json").read_text())
    assert meta["world_size"] == 2


def test_study_preset_plans_three_seeds_and_the_graph_ablations(pipeline):
    """config/study.yaml: every seeded method and both igcl variants at seeds 0-2, pixels once; the variants run
    `igcl pretrain` with their own pooling under their own name."""
    study = pipeline / "config" / "study.yaml"
    result = snakemake(pipeline, "-n", "-p", "--configfile", str(TINY), str(study))
    text = result.stdout + result.stderr
    counts = planned_jobs(pipeline, None, "--configfile", str(TINY), str(study))
    # 6 seeded runs x 3 seeds + pixels once, less the 5 seed-0 checkpoints of the tiny run (the pretraining data is
    # unchanged); the bigger CheXpert tree re-evaluates all 19
    assert counts["pretrain"] == 6 * 3 + 1 - 5 and counts["evaluate"] == 6 * 3 + 1 and counts["report"] == 1
    for seed in (0, 1, 2):
        assert f"results/pretrain/igcl_rgcn_mean/seed{seed}/checkpoint.safetensors" in text
    assert "results/pretrain/pixels/seed1" not in text
    command = next(line for line in text.splitlines()
                   if "pretrain --settings" in line and "--out results/pretrain/igcl_dummy_readout/seed2" in line)
    assert "--method igcl " in command and '"pooling": "dummy_readout"' in command
    assert "--label igcl_rgcn_mean" in text


def test_a_new_method_is_one_registry_entry(tmp_path):
    """Registering a method in src/igcl/methods.py alone makes the workflow plan its pretraining and evaluation
    (and, with a text report side, the inputs a text method reads); no rule or schema names it."""
    workdir = copy_workflow(tmp_path / "registry")
    registry = workdir / "src" / "igcl" / "methods.py"
    text = registry.read_text()
    entry = '    Method("igcl", GRAPHS, "image-graph contrastive (report entity graphs)"),\n'
    assert entry in text
    registry.write_text(text.replace(entry, entry + '    Method("dummy_text", TEXT, "a test-only text method"),\n'))
    override = workdir / "methods.yaml"
    override.write_text("methods: [dummy_text, random]\n")
    result = snakemake(workdir, "-n", "--configfile", str(TINY), str(override))
    plan = result.stdout + result.stderr
    stats = plan.split("Job stats:", 1)[1]
    assert re.search(r"^pretrain\s+2$", stats, flags=re.M) and re.search(r"^evaluate\s+2$", stats, flags=re.M)
    assert "results/pretrain/dummy_text/seed0/checkpoint.safetensors" in plan
    evaluate = next(block for block in plan.split("rule ") if block.startswith("evaluate:")
                    and "method=dummy_text" in block)
    assert "data/manifests/pretrain.parquet" in evaluate  # a text method's retrieval reads the report texts
    assert "data/prompts/graphs.parquet" not in evaluate  # graph prompts are a graph method's input only


def test_unknown_method_or_variant_stops_the_workflow(pipeline):
    result = snakemake(pipeline, "-n", "--configfile", str(TINY), str(_write(pipeline, "methods: [igcl, clip]")),
                       check=False)
    assert result.returncode != 0
    assert "config methods: unknown method 'clip'; known methods: igcl, convirt, image_only, random, pixels" in (
        result.stdout + result.stderr)
    result = snakemake(pipeline, "-n", "--configfile", str(TINY),
                       str(_write(pipeline, "variants: {igcl: {method: igcl}}")), check=False)
    assert "config variants: 'igcl' is a method's own name" in result.stdout + result.stderr


@pytest.mark.parametrize("change", [
    "graphs: {chunk_size: 7, batch_size: 3}",
    "pretrain: {checkpoint_every: 3, num_workers: 1, tensorboard: true, max_val_pairs: 9, device: cpu}",
    "evaluate: {batch_size: 5, device: cpu}",
])
def test_execution_settings_rerun_nothing(pipeline, change):
    assert planned_jobs(pipeline, change) == {}


def test_execution_settings_still_reach_the_stage(pipeline):
    result = snakemake(pipeline, "-n", "-p", "--forceall", "--configfile", str(TINY),
                       str(_write(pipeline, "pretrain: {num_workers: 3}\nevaluate: {batch_size: 5}")))
    text = result.stdout + result.stderr
    assert "--runtime '{\"checkpoint_every\": 50, \"device\": \"auto\", \"max_val_pairs\": 256, " \
           "\"num_workers\": 3, \"tensorboard\": false}'" in text
    assert "--runtime '{\"batch_size\": 5, \"device\": \"auto\"}'" in text


# module (under src/igcl) -> the jobs an edit of it plans: exactly the stages whose import closure holds it
SOURCE_EDITS = {
    "data/imageshards/reader.py": {"pretrain": 5, "evaluate": 5, "report": 1},  # pretrain's and evaluate's pixels
    "summary/tables.py": {"report": 1},                            # report-only code
    "reports/sections.py": {"parse": 1, "prompts": 1, "pretrain": 5, "evaluate": 5, "report": 1},  # parse, convirt
    "io.py": ALL_JOBS,                                                # every stage writes through it
}


@pytest.mark.parametrize("module", sorted(SOURCE_EDITS))
def test_a_source_edit_plans_the_stages_that_import_it(pipeline, module):
    path = pipeline / "src" / "igcl" / module
    original, stat = path.read_bytes(), path.stat()
    try:
        # an edit (a touch alone is not one: Snakemake compares small inputs' checksums when only the time moved)
        path.write_bytes(original + b"\n# an edit\n")
        assert planned_jobs(pipeline) == SOURCE_EDITS[module]
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_each_stage_ran_only_code_its_rule_lists(pipeline):
    """The modules each stage process actually loaded (recorded by a sitecustomize hook during the real run) are
    all code inputs of that stage's rule, as Snakemake's own summary lists them."""
    records = sorted((pipeline / "imports").glob("*.txt"))
    stages = {record.name.split("-")[0] for record in records}
    assert stages == set(ALL_JOBS)
    summary = snakemake(pipeline, "--detailed-summary").stdout
    listed: dict[str, set[str]] = {}
    for line in summary.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) > 4:
            listed.setdefault(fields[2], set()).update(f for f in fields[4].split(",") if f.startswith("src/"))
    for record in records:
        stage = record.name.split("-")[0]
        loaded = {str(Path(f).resolve().relative_to(pipeline.resolve())) for f in record.read_text().split()}
        assert loaded, record
        missing = loaded - listed[stage]
        assert not missing, f"{stage} imported {sorted(missing)}, which its rule does not list as code inputs"


def test_a_moved_tree_plans_nothing(pipeline, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(pipeline, moved, symlinks=True)  # copy2: file times kept, as mv or cp -a would
    assert planned_jobs(moved) == {}


@pytest.mark.parametrize("data, message", [
    ("{mimic_root: /does/not/exist}", "data.mimic_root: /does/not/exist is not a MIMIC-CXR-JPG 2.0.0 root: the "
                                      "folder does not exist"),
    ("{mimic_root: data/phantom/mimic-cxr-jpg, mimic_reports_root: /does/not/exist}",
     "data.mimic_reports_root: /does/not/exist is not a MIMIC-CXR reports root"),
    ("{chexpert_root: data/phantom/mimic-cxr-jpg}", "data.chexpert_root: data/phantom/mimic-cxr-jpg is not a "
                                                    "CheXpert-v1.0 or CheXpert-v1.0-small root: missing train.csv, "
                                                    "valid.csv"),
])
def test_a_wrong_root_stops_the_workflow_before_any_job(pipeline, data, message):
    result = snakemake(pipeline, "--config", f"data={data}", check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0 and message in text
    assert "Job stats" not in text


def test_null_on_the_command_line_means_the_phantom(pipeline):
    result = snakemake(pipeline, "-n", "--config",
                       "data={mimic_root: null, mimic_reports_root: null, chexpert_root: null}")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_changed_root_reruns_ingest(pipeline, tmp_path):
    """The same files at another root (times kept): the params name the root, so ingest reruns from it."""
    root = tmp_path / "mimic-cxr-jpg"
    shutil.copytree(pipeline / "data" / "phantom" / "mimic-cxr-jpg", root)
    assert planned_jobs(pipeline, f"data: {{mimic_root: {root}}}") == {
        "ingest": 1, "images": 1, "parse": 1, "pretrain": 5, "evaluate": 5, "report": 1}


def _evaluate_commands(pipeline: Path, change: str) -> list[str]:
    text = snakemake(pipeline, "-n", "-p", "--forceall", "--configfile", str(TINY),
                     str(_write(pipeline, change))).stdout
    return [line for line in text.splitlines() if "igcl evaluate " in line]


def test_radiologists_auto_uses_the_readers_of_the_tested_images(pipeline, tmp_path):
    """auto: the phantom's simulated readers on the phantom; the shipped published CheXpert-test readers on a real
    CheXpert root with the released test labels; none on a root without them, or with radiologists: none."""
    phantom = _evaluate_commands(pipeline, "evaluate: {radiologists: auto}")
    assert phantom and all("--radiologists data/phantom/CheXpert-v1.0-small/phantom_radiologists.csv" in c
                           for c in phantom)
    root = tmp_path / "CheXpert-v1.0-small"
    shutil.copytree(pipeline / "data" / "phantom" / "CheXpert-v1.0-small", root)
    real = _evaluate_commands(pipeline, f"data: {{chexpert_root: {root}}}")
    assert real and all("--radiologists src/igcl/evaluate/data/chexpert_test_radiologists.csv" in c for c in real)
    (root / "test_labels.csv").unlink()
    assert not any("--radiologists" in c for c in _evaluate_commands(pipeline, f"data: {{chexpert_root: {root}}}"))
    assert not any("--radiologists" in c for c in _evaluate_commands(pipeline, "evaluate: {radiologists: none}"))


def test_a_cross_field_error_stops_the_workflow_before_any_job(pipeline):
    result = snakemake(pipeline, "--configfile", str(TINY), str(_write(pipeline, "pretrain: {graph: {heads: 3}}")),
                       check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0 and "pretrain.graph.heads (3) must be >= 1 and divide hidden_dim (32)" in text
    assert "Job stats" not in text
