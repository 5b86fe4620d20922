"""Atomic output files and their provenance sidecars.

Every stage writes through :func:`atomic_path` (a file) or :func:`atomic_dir` (a directory): the output appears
under its final name only once it is complete, so a failed or killed stage never leaves a half-written artifact
that a later stage (or Snakemake) could mistake for a finished one. :func:`write_sidecar` records, beside an
output, the config it was made with, package versions, the git commit, row counts and seconds.

Litter of killed attempts. A process killed by SIGKILL (OOM killer, a cluster's time limit, ``kill -9``) runs no
cleanup, so it can leave its temporary ``.{name}.<random>.tmp`` beside the output, and Snakemake deletes a failed
job's declared outputs but not their sidecars. So opening an output for writing first removes what an earlier
attempt at the *same* output left (:func:`remove_litter`): temporaries named ``.{name}.<token>.tmp`` (files or
directories; ``<token>`` is letters, digits and ``_``, never a dot, so the temporaries of another output
``{name}.x`` are not matched), and the sidecar when the output itself is absent. This assumes one writer per
output at a time, which Snakemake guarantees (one job per output, and a locked working directory).

Sidecar rule: a sidecar is written only after its output is in place (:func:`write_sidecar` refuses otherwise),
and an orphan sidecar (output absent) is removed when the output is next written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIDECAR_PACKAGES = (
    "igcl", "numpy", "pyarrow", "polars", "pillow", "torch", "torchvision", "timm", "torch-geometric",
    "spacy", "scispacy", "medspacy", "scikit-learn", "simplejpeg",
)


def _default_mode(base: int) -> int:
    """``base`` less the process umask: what an ordinary open()/mkdir() would give (mkstemp/mkdtemp give 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _stale_temp_pattern(final: Path) -> re.Pattern[str]:
    # mkstemp/mkdtemp's random part is drawn from [a-z0-9_]; a helper's own prefix (``spool_``) keeps to that too
    return re.compile(rf"\.{re.escape(final.name)}\.[A-Za-z0-9_]+\.tmp")


def temp_sibling_prefix(final: str | os.PathLike[str], kind: str = "") -> str:
    """The ``prefix`` for ``tempfile.mkstemp/mkdtemp(prefix=..., suffix=".tmp", dir=final.parent)`` that makes a
    temporary :func:`remove_stale_temps` of ``final`` removes; ``kind`` (letters, digits, ``_``) tells uses apart."""
    if not re.fullmatch(r"[A-Za-z0-9_]*", kind):
        raise ValueError(f"temp kind must be letters, digits or '_', got {kind!r}")
    return f".{Path(final).name}.{kind + '_' if kind else ''}"


def remove_stale_temps(final: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries ``.{final.name}.<token>.tmp`` (files or directories) beside ``final`` that an
    earlier, killed attempt left; returns what was removed. Safe only while no other process writes ``final``
    (Snakemake runs one job per output)."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    pattern = _stale_temp_pattern(final)
    removed = []
    for entry in final.parent.iterdir():
        if not pattern.fullmatch(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        log.info("removed %s, left by an earlier attempt at %s", entry, final)
        removed.append(entry)
    return sorted(removed)


def remove_orphan_sidecar(final: str | os.PathLike[str]) -> Path | None:
    """Delete ``final``'s sidecar when ``final`` does not exist (a sidecar never describes a missing output)."""
    sidecar = sidecar_path(final)
    if Path(final).exists() or not sidecar.is_file():
        return None
    sidecar.unlink(missing_ok=True)
    log.info("removed %s: its output %s is missing", sidecar, final)
    return sidecar


def remove_litter(final: str | os.PathLike[str]) -> list[Path]:
    """:func:`remove_stale_temps` and :func:`remove_orphan_sidecar` of ``final``; returns what was removed.
    :func:`atomic_path` and :func:`atomic_dir` call it; a long stage calls it at its start too, so that an orphan
    sidecar does not stand beside a missing output for the hours until the output is written."""
    removed = remove_stale_temps(final)
    sidecar = remove_orphan_sidecar(final)
    return removed + ([sidecar] if sidecar is not None else [])


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error delete it.

    First removes an earlier killed attempt's litter (:func:`remove_litter`; see the module docstring for why
    that is safe)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_litter(final)
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
    """Yield an empty temporary directory beside ``path``; on success it replaces ``path`` whole.

    First removes an earlier killed attempt's litter (:func:`remove_litter`). An existing ``path`` is renamed
    aside (to a name that litter removal matches) before the new one takes its place and deleted after, so a kill
    at any point leaves either the old or the new directory under ``path``, or at worst (between the two renames)
    none, never a half-deleted one."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_litter(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(_default_mode(0o777))
    try:
        yield tmp
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_sibling_prefix(final, "old"), suffix=".tmp", dir=final.parent))
            os.replace(final, old)  # onto the empty directory mkdtemp made (rename may replace an empty one)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full filesystem, or the user's quota on it


def is_disk_full(err: BaseException) -> bool:
    """An OSError for a full filesystem or quota (pyarrow's carry the errno only in their text)."""
    return isinstance(err, OSError) and (err.errno in NO_SPACE or "No space left on device" in str(err))


def _free_space(path: Path) -> str:
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return f"{usage.free / 2**20:.1f} MiB free of {usage.total / 2**20:.1f} MiB on the filesystem of {path}"


@contextlib.contextmanager
def disk_full_is_an_error(output: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full filesystem while writing ``output`` into an OSError naming it and the free space left. Wrap it
    around the :func:`atomic_path` / :func:`atomic_dir` block, so the free space is read after the partial output
    is removed."""
    try:
        yield
    except OSError as err:
        if not is_disk_full(err):
            raise
        raise OSError(errno.ENOSPC, f"{output}: no space left on device while writing it (the partial output is "
                                    f"removed; {_free_space(Path(output).parent)})") from err


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file's bytes, read in ``chunk``-byte blocks (weights files can be GBs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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


@dataclass(frozen=True)
class Sidecar:
    """What a stage recorded beside one output (``<output>.meta.json``): its config, row counts, seconds, and the
    rest of the record (``extra``: package versions, git commit, stage-specific keys). Every stage driver
    (``run_<stage>(config, inputs, outputs)``) returns the sidecar of its primary output."""

    output: str
    config: Mapping[str, Any]
    rows: Mapping[str, int]
    seconds: float | None
    extra: Mapping[str, Any]


SIDECAR_KEYS = ("output", "config", "rows", "seconds")


def read_sidecar(output: str | os.PathLike[str]) -> Sidecar:
    """The sidecar written beside ``output``; ValueError naming the file when it is absent or not a sidecar."""
    path = sidecar_path(output)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no sidecar beside {output}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a sidecar ({err})") from err
    if not isinstance(meta, dict) or any(key not in meta for key in SIDECAR_KEYS):
        raise ValueError(f"{path}: not a sidecar (needs the keys {', '.join(SIDECAR_KEYS)})")
    return Sidecar(meta["output"], meta["config"], meta["rows"], meta["seconds"],
                   {k: v for k, v in meta.items() if k not in SIDECAR_KEYS})


def write_sidecar(output: str | os.PathLike[str], *, config: Mapping[str, Any], rows: Mapping[str, int] | None = None,
                  seconds: float | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``<output>.meta.json`` atomically: config, package versions, git commit, row counts, seconds.

    Raises FileNotFoundError when ``output`` does not exist: a sidecar is written after its output."""
    if not Path(output).exists():
        raise FileNotFoundError(f"{output}: no such output; its sidecar is written only after it")
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
