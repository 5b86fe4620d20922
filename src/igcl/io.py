"""Atomic output files and their provenance sidecars.

Every stage writes through :func:`atomic_path` (a file) or :func:`atomic_dir` (a directory): the output appears
under its final name only once it is complete, so a failed or killed stage never leaves a half-written artifact
that a later stage (or Snakemake) could mistake for a finished one. :func:`write_sidecar` records, beside an
output, the config it was made with, package versions, the git commit, row counts and seconds.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

SIDECAR_PACKAGES = (
    "igcl", "numpy", "pyarrow", "polars", "pillow", "torch", "torchvision", "timm", "torch-geometric",
    "spacy", "scispacy", "medspacy", "scikit-learn",
)


def _default_mode(base: int) -> int:
    """``base`` less the process umask: what an ordinary open()/mkdir() would give (mkstemp/mkdtemp give 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error delete it."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(_default_mode(0o666))
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; on success it replaces ``path`` whole."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(_default_mode(0o777))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def package_versions(names: tuple[str, ...] = SIDECAR_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The checkout's HEAD commit (with ``-dirty`` when there are uncommitted changes), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def sidecar_path(output: str | os.PathLike[str]) -> Path:
    out = Path(output)
    return out.with_name(out.name + ".meta.json")


def write_sidecar(output: str | os.PathLike[str], *, config: Mapping[str, Any], rows: Mapping[str, int] | None = None,
                  seconds: float | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``<output>.meta.json`` atomically: config, package versions, git commit, row counts, seconds."""
    meta = {
        "output": str(output),
        "config": dict(config),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "rows": dict(rows or {}),
        "seconds": None if seconds is None else round(seconds, 3),
    }
    if extra:
        meta.update(extra)
    target = sidecar_path(output)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return target
