import json

import pytest

from igcl.io import atomic_dir, atomic_path, sidecar_path, write_sidecar


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
