"""The images stage's array file: the .npy header and its rewrite after skips, a full disk, a killed stage.

A full disk used to arrive as SIGBUS through the memory-mapped array (rc 135, no message, the temp file left);
it must be an ``OSError`` naming the file and the free space, with nothing left behind. A SIGKILLed stage must not
leave pool workers running.
"""

from __future__ import annotations

import builtins
import errno
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from igcl.data.imageshards import ImagesConfig, build_image_shard, decode_image
from test_image_shards import make_bad_file, out_paths, random_jpegs, write_jpeg, write_manifest

build_module = importlib.import_module("igcl.data.imageshards.build")


# ---------------------------------------------------------------------------------------------- processes


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid`` from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name in parentheses may hold spaces
    return fields[0], int(fields[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None and stat[1] == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped by whoever adopted it) counts as gone."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def grandchildren(pid: int) -> list[int]:
    """Pool workers: under forkserver they are children of the fork server, a child of the stage's process."""
    return [g for c in children(pid) for g in children(c) if alive(g)]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


# ---------------------------------------------------------------------------------------------- header, skips


def test_npy_header_is_numpys_and_pads_to_a_reserved_length():
    header = build_module.npy_header((5, 8, 8))
    reference = io.BytesIO()
    np.save(reference, np.zeros((5, 8, 8), np.uint8))
    assert reference.getvalue().startswith(header) and len(header) % 64 == 0
    # fewer digits in the first axis than the shape the header was reserved for: same length
    assert len(build_module.npy_header((7, 64, 64))) == len(build_module.npy_header((123456789, 64, 64)))
    padded = build_module.npy_header((5, 8, 8), length=len(header) + 64)
    assert len(padded) == len(header) + 64
    pixels = np.arange(5 * 8 * 8, dtype=np.uint8).reshape(5, 8, 8)
    loaded = np.load(io.BytesIO(padded + pixels.tobytes()))
    np.testing.assert_array_equal(loaded, pixels)
    with pytest.raises(ValueError, match="longer than the 64 reserved"):
        build_module.npy_header((5, 8, 8), length=64)


def test_skipped_rows_shrink_the_header_in_place(tmp_path):
    files = random_jpegs(tmp_path / "jpg", 11, np.random.default_rng(20))
    for at in (0, 5, 11):
        files.insert(at, make_bad_file("corrupt_scan", tmp_path / f"bad{at}"))
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "PA") for f in files])
    outputs = {}
    for threads in (1, 2):
        npy, index = tmp_path / f"t{threads}.npy", tmp_path / f"t{threads}.index.parquet"
        summary = build_image_shard(manifest, npy, index, ImagesConfig(size=16, on_corrupt="skip"),
                                    threads=threads, chunk_size=4)
        assert [s.manifest_row for s in summary.skipped] == [0, 5, 11] and summary.images == 11
        outputs[threads] = npy.read_bytes()
        array, mapped = np.load(npy), np.load(npy, mmap_mode="r")
        assert array.shape == mapped.shape == (11, 16, 16) and array.dtype == np.uint8
        assert npy.stat().st_size == len(build_module.npy_header((11, 16, 16))) + 11 * 16 * 16
        good = [f for i, f in enumerate(files) if i not in (0, 5, 11)]
        for row, path in enumerate(good):
            np.testing.assert_array_equal(mapped[row], decode_image(path, 16))
    assert outputs[1] == outputs[2]
    # the kept rows are the bytes a shard of only the good files holds
    clean = write_manifest(tmp_path / "clean.parquet", [(f, "PA") for f in good])
    npy, index = tmp_path / "clean.npy", tmp_path / "clean.index.parquet"
    build_image_shard(clean, npy, index, ImagesConfig(size=16))
    assert npy.read_bytes() == outputs[1]


# ---------------------------------------------------------------------------------------------- full disk


class FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes have been written (as a full filesystem does)."""

    def __init__(self, file, room: int) -> None:
        self._file = file
        self._room = room

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if n > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= n
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)


@needs_proc
@pytest.mark.parametrize("threads", [1, 2])
def test_full_disk_is_a_clear_error_that_leaves_nothing(tmp_path, monkeypatch, threads):
    files = random_jpegs(tmp_path / "jpg", 3, np.random.default_rng(21))
    manifest = write_manifest(tmp_path / "m.parquet", [(files[i % 3], "PA") for i in range(40)])
    npy, index = out_paths(tmp_path)

    def full_disk_open(path, mode="r", *args, **kwargs):
        return FullDisk(builtins.open(path, mode, *args, **kwargs), room=128 + 10 * 16 * 16)

    monkeypatch.setattr(build_module, "open", full_disk_open, raising=False)
    with pytest.raises(OSError) as info:
        build_image_shard(manifest, npy, index, ImagesConfig(size=16), threads=threads, chunk_size=4)
    message = str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert f"{npy}: no space left on device while writing the image array" in message
    assert "it needs 0.0 MiB (10368 bytes)" in message and " free of " in message
    assert f"on the filesystem of {npy.parent}" in message
    assert list(npy.parent.iterdir()) == []  # neither the temp file nor any output
    assert wait_until(lambda: not grandchildren(os.getpid()), 5), "pool workers outlived the failed stage"


@needs_proc
def test_real_full_disk_is_a_clear_error_not_sigbus(tmp_path, tiny_tmpfs):
    jpeg = write_jpeg(tmp_path / "one.jpg", np.random.default_rng(22).integers(0, 256, (48, 48), dtype=np.uint8))
    manifest = write_manifest(tmp_path / "m.parquet", [(jpeg, "PA")] * 100)  # 100 x 128 x 128 = 1.6 MB
    npy, index = tiny_tmpfs / "shard.npy", tiny_tmpfs / "shard.index.parquet"
    with pytest.raises(OSError) as info:
        build_image_shard(manifest, npy, index, ImagesConfig(size=128), threads=2, chunk_size=8)
    message = str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert f"{npy}: no space left on device" in message and "it needs 1.6 MiB (1638528 bytes)" in message
    assert f"1.0 MiB (1048576 bytes) free of 1.0 MiB (1048576 bytes) on the filesystem of {tiny_tmpfs}" in message
    assert list(tiny_tmpfs.iterdir()) == []
    assert wait_until(lambda: not grandchildren(os.getpid()), 5), "pool workers outlived the failed stage"


# ---------------------------------------------------------------------------------------------- killed stage


@needs_proc
@pytest.mark.slow
def test_sigkill_of_the_stage_leaves_no_workers(tmp_path):
    pixels = np.random.default_rng(23).integers(0, 256, (1600, 1600), dtype=np.uint8)
    jpeg = write_jpeg(tmp_path / "big.jpg", pixels, quality=90)
    manifest = write_manifest(tmp_path / "m.parquet", [(jpeg, "PA")] * 20000)  # minutes of decoding
    out, index = tmp_path / "out" / "shard.npy", tmp_path / "out" / "shard.index.parquet"
    command = [sys.executable, "-m", "igcl.cli.main", "images", "--manifest", str(manifest), "--out", str(out),
               "--index", str(index), "--threads", "2", "--settings", json.dumps({"size": 64})]
    stage = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started: list[int] = []
    try:
        assert wait_until(lambda: len(grandchildren(stage.pid)) >= 2 or stage.poll() is not None, 60)
        assert stage.poll() is None, f"the stage ended before it could be killed: {stage.stderr.read().decode()}"
        time.sleep(0.5)  # mid-chunk, not mid-start-up
        started = children(stage.pid) + grandchildren(stage.pid)
        assert len(started) >= 3  # the fork server and two workers (and the resource tracker, if any)
        os.kill(stage.pid, signal.SIGKILL)
        stage.wait(10)
        survivors = [] if wait_until(lambda: not any(alive(p) for p in started), 5) else \
            [f"{p}: {cmdline(p)}" for p in started if alive(p)]
        assert not survivors, f"processes outlived the killed stage: {survivors}"
    finally:
        for pid in [stage.pid, *started]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        stage.stderr.close()
