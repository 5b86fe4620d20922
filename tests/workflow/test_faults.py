"""Fault injection on the tiny config: SIGKILL the whole run at a random point of each stage in turn, recover as
the README says, and require the outputs of an uninterrupted run, byte for byte, with no temp file, spool, orphan
sidecar or live process left behind.

The kill points come from ``random.Random(IGCL_FAULT_SEED)`` (default 0, so CI is repeatable); set the variable to
explore others. A failure message names the seed and where each kill landed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_workflow import TINY, copy_workflow  # pytest puts tests/workflow on sys.path

pytestmark = pytest.mark.slow

STAGES = ("phantom", "ingest", "images", "parse", "pretrain", "evaluate", "report")
# Outputs that must not depend on being interrupted (sidecars, logs, train_log.csv and summary.md hold timings).
COMPARED = ("data/phantom/**/*.csv*", "data/phantom/**/*.jpg", "data/phantom/**/*.txt", "data/manifests/*.parquet",
            "data/images/*.npy", "data/images/*.index.parquet", "data/graphs/*.parquet",
            "results/pretrain/*/seed*/checkpoint.safetensors", "results/eval/*/seed*/*.parquet",
            "results/comparisons.parquet")
SEED = int(os.environ.get("IGCL_FAULT_SEED", "0"))


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(TINY), *args]


def _env(tmpdir: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmpdir)}


def _run(workdir: Path, tmpdir: Path, *args: str) -> None:
    result = subprocess.run(_command(*args), cwd=workdir, capture_output=True, text=True, env=_env(tmpdir))
    if result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed (IGCL_FAULT_SEED={SEED}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")


def _processes() -> dict[int, tuple[int, list[str]]]:
    """pid -> (parent pid, argv) of every live process (zombies are dead: an init that does not reap, as in some
    containers, leaves killed orphans as zombies)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state in ("Z", "X"):
            continue
        table[int(entry.name)] = (int(parent), [a.decode(errors="replace") for a in argv if a])
    return table


def _descendants(root: int) -> dict[int, list[str]]:
    table = _processes()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, argv) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = argv
                frontier.append(pid)
    return found


def _running_stages(tree: dict[int, list[str]]) -> set[str]:
    """The stages with an `igcl <stage>` process in ``tree``."""
    return {argv[argv.index("igcl.cli.main") + 1] for argv in tree.values()
            if "igcl.cli.main" in argv and argv.index("igcl.cli.main") + 1 < len(argv)}


def _kill_tree(run: subprocess.Popen) -> list[int]:
    """SIGKILL the run and every process under it (as a node failure or `scancel` would), until none is left."""
    killed: set[int] = set()
    for _ in range(20):
        tree = {pid for pid in _descendants(run.pid)} | ({run.pid} if run.poll() is None else set())
        if not tree - killed and run.poll() is not None:
            break
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed |= tree
        time.sleep(0.05)
    run.wait(timeout=30)
    return sorted(killed)


def _interrupted_run(workdir: Path, tmpdir: Path, stages: list[str], rng: random.Random) -> tuple[str, str | None]:
    """Run the workflow until one of ``stages`` has a process, SIGKILL everything a random moment later, then
    release the lock. Returns what happened and the (earliest) stage that was running, None when the run ended."""
    log_path = workdir / f"run-{stages[0]}.log"
    with open(log_path, "w") as log:
        # the documented recovery's run: jobs a kill left incomplete run again
        run = subprocess.Popen(_command("--rerun-incomplete"), cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                               env=_env(tmpdir))
    deadline = time.monotonic() + 600
    running: set[str] = set()
    while run.poll() is None and not running:
        if time.monotonic() > deadline:
            _kill_tree(run)
            raise AssertionError(f"none of {stages} started within 600 s")
        running = _running_stages(_descendants(run.pid)) & set(stages)
        time.sleep(0.02)
    if not running:
        if run.returncode != 0:
            raise AssertionError(f"the run after the previous kill failed (IGCL_FAULT_SEED={SEED}):\n"
                                 f"{log_path.read_text()[-5000:]}")
        return "the run completed", None
    stage = min(running, key=stages.index)
    delay = rng.uniform(0.05, 2.0)
    time.sleep(delay)
    pids = _kill_tree(run)
    time.sleep(0.5)
    survivors = set(pids) & set(_processes())
    assert not survivors, f"processes survived SIGKILL: {survivors}"
    # recovery, as the README documents it: release the dead run's lock (the next run reruns incomplete jobs)
    _run(workdir, tmpdir, "--unlock")
    return f"{'+'.join(sorted(running, key=stages.index))}: killed {delay:.2f} s in ({len(pids)} processes)", stage


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("reference") / "tree")
    tmpdir = tmp_path_factory.mktemp("reference_tmp")
    _run(workdir, tmpdir)
    return workdir


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """A run killed once in each stage, in order, and completed by the documented recovery."""
    workdir = copy_workflow(tmp_path_factory.mktemp("interrupted") / "tree")
    tmpdir = tmp_path_factory.mktemp("interrupted_tmp")
    rng = random.Random(SEED)
    events, remaining = [], list(STAGES)
    while remaining:  # kill the earliest stage still to come that is running, until every stage had its turn
        event, stage = _interrupted_run(workdir, tmpdir, remaining, rng)
        events.append(event)
        if stage is None:
            break
        remaining = remaining[remaining.index(stage) + 1:]
    _run(workdir, tmpdir, "--rerun-incomplete")
    return workdir, tmpdir, events


def _outputs(tree: Path) -> dict[str, bytes]:
    files = {}
    for pattern in COMPARED:
        for path in tree.glob(pattern):
            files[str(path.relative_to(tree))] = path.read_bytes()
    return files


def test_outputs_equal_an_uninterrupted_run(reference, interrupted):
    workdir, _, events = interrupted
    expected, got = _outputs(reference), _outputs(workdir)
    assert expected, "the reference run wrote none of the compared outputs"
    assert sorted(got) == sorted(expected), f"seed {SEED}, {events}"
    differing = sorted(name for name in expected if got[name] != expected[name])
    assert not differing, f"differ after the kills (IGCL_FAULT_SEED={SEED}; {events}): {differing[:10]}"
    assert sum("killed" in event for event in events) >= 5, events  # most stages were interrupted at least once


def test_no_litter_is_left(interrupted):
    workdir, tmpdir, events = interrupted
    litter = [str(p.relative_to(workdir)) for top in ("data", "results", "logs", "benchmarks")
              for p in (workdir / top).rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]
    assert not litter, f"temp files left (IGCL_FAULT_SEED={SEED}; {events}): {litter}"
    # igcl's own (spools, temp files); Snakemake's and the libraries' caches (torch, PyG templates) are theirs
    ours = [p.name for p in tmpdir.rglob("*") if p.name.startswith("igcl") or p.name.endswith(".tmp")]
    assert not ours, f"left in TMPDIR (IGCL_FAULT_SEED={SEED}; {events}): {ours}"
    orphans = [str(p.relative_to(workdir)) for p in workdir.rglob("*.meta.json")
               if not p.with_name(p.name.removesuffix(".meta.json")).exists()]
    assert not orphans, f"sidecars without their output: {orphans}"


def test_nothing_is_left_to_do(interrupted):
    workdir, tmpdir, _ = interrupted
    result = subprocess.run(_command("-n"), cwd=workdir, capture_output=True, text=True, env=_env(tmpdir))
    assert "Nothing to be done" in result.stdout + result.stderr
