import json
import logging
import subprocess
import sys
import tempfile

import pytest

from igcl.io import (atomic_dir, atomic_path, remove_litter, remove_orphan_sidecar, remove_stale_temps, sidecar_path,
                     temp_sibling_prefix, write_sidecar)


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_previous_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise ValueError
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_dir_replaces_whole_directory(tmp_path):
    target = tmp_path / "tree"
    target.mkdir()
    (target / "stale.txt").write_text("stale")
    with atomic_dir(target) as tmp:
        (tmp / "a").mkdir()
        (tmp / "a" / "b.txt").write_text("b")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["a", "a/b.txt"]


def test_atomic_dir_leaves_nothing_on_error(tmp_path):
    with pytest.raises(KeyError):
        with atomic_dir(tmp_path / "tree") as tmp:
            (tmp / "x.txt").write_text("x")
            raise KeyError("x")
    assert list(tmp_path.iterdir()) == []


def test_sidecar_records_config_rows_and_versions(tmp_path):
    out = tmp_path / "table.parquet"
    out.write_bytes(b"table")
    path = write_sidecar(out, config={"seed": 3}, rows={"kept": 10, "skipped": 2}, seconds=1.23456)
    assert path == sidecar_path(out) == tmp_path / "table.parquet.meta.json"
    meta = json.loads(path.read_text())
    assert meta["config"] == {"seed": 3}
    assert meta["rows"] == {"kept": 10, "skipped": 2}
    assert meta["seconds"] == 1.235
    assert "numpy" in meta["packages"] and "igcl" in meta["packages"]


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_sidecar_is_written_only_after_its_output(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"table.parquet: no such output"):
        write_sidecar(tmp_path / "table.parquet", config={})
    assert list(tmp_path.iterdir()) == []


def names(directory):
    return sorted(p.name for p in directory.iterdir())


def test_remove_stale_temps_matches_only_this_outputs_temporaries(tmp_path, caplog):
    final = tmp_path / "out.parquet"
    file_temp = tmp_path / ".out.parquet.k2j_9x0a.tmp"
    file_temp.write_bytes(b"half")
    dir_temp = tmp_path / ".out.parquet.spool_ab12cd34.tmp"
    (dir_temp / "sub").mkdir(parents=True)
    (dir_temp / "sub" / "x.arrow").write_bytes(b"x")
    keep = [".out.parquet.meta.json.abc123.tmp",  # the sidecar's temporary: another output, out.parquet.meta.json
            ".out.parquet.abc.tmp.compact", ".out.parquet.tmp", "out.parquet.abc.tmp", ".other.parquet.abc.tmp",
            ".xout.parquet.abc.tmp"]
    for name in keep:
        (tmp_path / name).write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="igcl.io"):
        removed = remove_stale_temps(final)
    assert removed == sorted([file_temp, dir_temp])
    assert names(tmp_path) == sorted(keep)
    assert sum("left by an earlier attempt" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO) == 2
    assert remove_stale_temps(tmp_path / "missing" / "out.parquet") == []


def test_temp_sibling_prefix_makes_names_the_sweep_removes(tmp_path):
    final = tmp_path / "graphs"
    made = tempfile.mkdtemp(prefix=temp_sibling_prefix(final, "spool"), suffix=".tmp", dir=tmp_path)
    assert remove_stale_temps(final) == [tmp_path / made]
    with pytest.raises(ValueError, match="letters, digits"):
        temp_sibling_prefix(final, "a.b")


def test_orphan_sidecar_is_removed_and_a_live_one_kept(tmp_path):
    out = tmp_path / "table.parquet"
    sidecar_path(out).write_text("{}")
    assert remove_orphan_sidecar(out) == sidecar_path(out) and names(tmp_path) == []
    out.write_bytes(b"t")
    sidecar_path(out).write_text("{}")
    assert remove_litter(out) == [] and names(tmp_path) == ["table.parquet", "table.parquet.meta.json"]


KILLED_WRITER = """
import os, signal, sys
from igcl.io import atomic_dir, atomic_path
target = sys.argv[2]
with (atomic_path(target) if sys.argv[1] == "file" else atomic_dir(target)) as tmp:
    if sys.argv[1] == "file":
        tmp.write_bytes(b"x" * 4096)
    else:
        (tmp / "part-00000.parquet").write_bytes(b"x" * 4096)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_rerun_removes_what_a_killed_writer_left(tmp_path, kind):
    target = tmp_path / ("out.npy" if kind == "file" else "graphs")
    sidecar_path(target).write_text("{}")  # e.g. Snakemake deleted the failed job's output but not its sidecar
    leftovers = []
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", KILLED_WRITER, kind, str(target)])
        assert run.returncode == -9
        leftovers.append([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")])
    # each kill leaves its temporary, and each attempt removes the one before: never more than one
    assert [len(x) for x in leftovers] == [1, 1] and leftovers[0] != leftovers[1]
    assert leftovers[1][0].name.startswith(f".{target.name}.")
    with (atomic_path(target) if kind == "file" else atomic_dir(target)) as tmp:
        assert names(tmp_path) == [tmp.name]  # litter and the orphan sidecar went before the new attempt
        if kind == "file":
            tmp.write_bytes(b"done")
        else:
            (tmp / "part-00000.parquet").write_bytes(b"done")
    assert names(tmp_path) == [target.name]


def test_atomic_dir_replacing_an_old_directory_leaves_nothing_aside(tmp_path):
    target = tmp_path / "tree"
    for text in ("one", "two"):
        with atomic_dir(target) as tmp:
            (tmp / "x.txt").write_text(text)
    assert names(tmp_path) == ["tree"] and (target / "x.txt").read_text() == "two"
