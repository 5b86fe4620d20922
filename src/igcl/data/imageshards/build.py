"""The images stage: manifest JPEGs -> one ``[N, size, size]`` uint8 ``.npy`` array plus its index Parquet.

The array is written with ordinary buffered writes, chunk by chunk after a ``.npy`` header for the selected row
count (:class:`NpyWriter`), so memory stays bounded at any N; when rows are skipped the header is rewritten in
place for the smaller count and the file truncated. (It used to be written through a memory map, where a full disk
arrives as SIGBUS: the process died with no message and left its temp file filling the disk. A ``write()`` fails
with ENOSPC instead, which becomes an error naming the file and the free space.) Both files appear under their
final names only once complete (:func:`igcl.io.atomic_path`). Decoding runs in a process pool over chunks of
paths; results are consumed in submission order with a bounded window of chunks in flight, so the output is
byte-identical for any number of workers. Pool workers die with the stage (:func:`igcl.workers.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import multiprocessing
import os
import shutil
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib.format import dtype_to_descr, write_array_header_1_0
from tqdm import tqdm

from igcl.data.imageshards.config import ImagesConfig
from igcl.data.imageshards.decode import CorruptImageError, decode_image
from igcl.data.imageshards.index import INDEX_SCHEMA, build_index, select_views
from igcl.config import to_dict
from igcl.contracts.schema import MANIFEST_SCHEMA, read_table
from igcl.io import Sidecar, atomic_path, is_disk_full, read_sidecar, write_sidecar
from igcl.workers import die_with_parent

logger = logging.getLogger(__name__)

CHUNK_SIZE = 32  # images per task: large enough to amortise pickling, small enough to keep both workers busy


@dataclass(frozen=True)
class SkippedImage:
    """A manifest row left out of the shard (``on_corrupt: skip``)."""

    manifest_row: int
    image_path: str
    reason: str


@dataclass(frozen=True)
class ShardSummary:
    """What :func:`build_image_shard` wrote: row counts and the skipped files."""

    manifest_rows: int
    selected_rows: int
    images: int
    skipped: tuple[SkippedImage, ...]
    seconds: float


# (images [n, size, size] uint8 with zeros where decoding failed, [(offset in chunk, reason)])
ChunkResult = tuple[np.ndarray, list[tuple[int, str]]]


def decode_chunk(paths: Sequence[str], size: int, resize: str = "crop") -> ChunkResult:
    """Decode ``paths``; failures are returned (not raised) so the caller decides between error and skip."""
    images = np.zeros((len(paths), size, size), dtype=np.uint8)
    failures = []
    for i, path in enumerate(paths):
        try:
            images[i] = decode_image(path, size, resize)
        except CorruptImageError as err:
            failures.append((i, err.reason))
    return images, failures


def _init_worker() -> None:
    """Pool initializer: die with the stage's process, however it ends (:mod:`igcl.workers`)."""
    die_with_parent()


def decode_in_order(chunks: Iterable[Sequence[str]], size: int, threads: int,
                    resize: str = "crop") -> Iterator[ChunkResult]:
    """Yield :func:`decode_chunk` results in the order of ``chunks``, decoded by ``threads`` processes."""
    if threads == 1:
        for paths in chunks:
            yield decode_chunk(paths, size, resize)
        return
    # forkserver: workers do not inherit the parent's threads (tqdm's monitor, torch's pools in a test process);
    # the server imports this module once, so each worker starts as a cheap fork of it, not a fresh import
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    # a killed stage (SIGKILL, OOM killer, time limit) must not leave its workers running: see _init_worker
    pool = ProcessPoolExecutor(max_workers=threads, mp_context=context, initializer=_init_worker)
    pending: deque[Future[ChunkResult]] = deque()
    remaining = iter(chunks)
    try:
        for paths in remaining:
            pending.append(pool.submit(decode_chunk, paths, size, resize))
            if len(pending) >= 2 * threads:
                break
        while pending:
            result = pending.popleft().result()
            paths = next(remaining, None)
            if paths is not None:
                pending.append(pool.submit(decode_chunk, paths, size, resize))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunked(items: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), n):
        yield items[start:start + n]


def npy_header(shape: tuple[int, ...], length: int | None = None) -> bytes:
    """The ``.npy`` (format 1.0) header of a C-order uint8 array of ``shape``, as numpy writes it.

    With ``length``, padded with spaces to exactly that many bytes: a header rewritten in place for fewer rows
    must keep its length (and so the data's offset). numpy 1.26 already pads the first axis to 21 digits, so the
    padding only matters for a numpy that does not.
    """
    buffer = io.BytesIO()
    write_array_header_1_0(buffer, {"descr": dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                                    "shape": shape})
    header = buffer.getvalue()
    if length is None or len(header) == length:
        return header
    if len(header) > length:
        raise ValueError(f".npy header for shape {shape} is {len(header)} bytes, longer than the {length} reserved")
    # magic (6 bytes), version (2), little-endian uint16 length of the dict text (which ends in a newline)
    return header[:8] + struct.pack("<H", length - 10) + header[10:-1] + b" " * (length - len(header)) + b"\n"


class NpyWriter:
    """Write a ``[rows, size, size]`` uint8 ``.npy`` at ``path`` block by block with buffered ``write()`` calls.

    The header is written first for ``rows`` images; :meth:`finish` rewrites it in place for the number actually
    appended (fewer when rows were skipped) and truncates the file. A full filesystem (ENOSPC, or EDQUOT) raises
    ``OSError`` naming ``output`` (the final path; ``path`` is its temp file), the bytes the array needs and the
    space free there after the partial file is removed; the partial file is removed. Memory: one block.
    """

    def __init__(self, path: Path, rows: int, size: int, output: str | os.PathLike[str]) -> None:
        self.path = path
        self.output = output
        self.size = size
        self.rows = 0
        self._header = npy_header((rows, size, size))
        self._needed = len(self._header) + rows * size * size
        self._file = open(path, "wb")  # closed by finish() or abort()
        self._guard(self._file.write, self._header)

    def append(self, images: np.ndarray) -> None:
        """Append ``images`` [n, size, size] uint8 after the rows written so far."""
        if images.dtype != np.uint8 or images.shape[1:] != (self.size, self.size):
            raise ValueError(f"expected uint8 [n, {self.size}, {self.size}] images, got {images.dtype} {images.shape}")
        self._guard(self._file.write, np.ascontiguousarray(images).data)
        self.rows += len(images)

    def finish(self) -> None:
        """Fix the header for the rows appended, drop the unused tail, flush to disk and close."""
        def fix_and_close() -> None:
            self._file.seek(0)
            self._file.write(npy_header((self.rows, self.size, self.size), length=len(self._header)))
            self._file.truncate(len(self._header) + self.rows * self.size * self.size)
            self._file.flush()
            os.fsync(self._file.fileno())  # some filesystems (NFS) report a full disk only at write-back
            self._file.close()

        self._guard(fix_and_close)

    def abort(self) -> None:
        """Close without fixing the header (the caller deletes the file)."""
        with contextlib.suppress(OSError):  # a flush of buffered bytes onto a full disk fails again
            self._file.close()

    def _guard(self, write: Callable[..., object], *args: object) -> None:
        """Call ``write(*args)``, turning a full filesystem into the error described in the class docstring."""
        try:
            write(*args)
        except OSError as err:
            if not is_disk_full(err):
                raise
            self.abort()
            self.path.unlink(missing_ok=True)  # so that the free space reported is what the user has to work with
            usage = shutil.disk_usage(self.path.parent)
            raise OSError(err.errno, (
                f"{self.output}: {os.strerror(err.errno).lower()} while writing the image array "
                f"(temp file {self.path.name}, removed): it needs {_mib(self._needed)}, "
                f"{_mib(usage.free)} free of {_mib(usage.total)} on the filesystem of {self.path.parent}")) from err


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB ({n} bytes)"


def build_image_shard(manifest_path: str | os.PathLike[str], out_npy: str | os.PathLike[str],
                      out_index: str | os.PathLike[str], config: ImagesConfig, *, threads: int = 1,
                      chunk_size: int = CHUNK_SIZE) -> ShardSummary:
    """Decode the manifest's images of ``config.views`` into ``out_npy`` [N, size, size] uint8 and ``out_index``.

    ``out_index`` follows :data:`igcl.data.imageshards.index.INDEX_SCHEMA`; row ``i`` of the index describes
    image ``i`` of the array, in manifest order. With ``on_corrupt: error`` a bad file raises
    :class:`CorruptImageError` naming the manifest, its row, the study, image and file, and nothing is written.
    """
    if threads < 1:
        raise ValueError(f"threads: expected >= 1, got {threads}")
    start_time = time.perf_counter()
    manifest_path = Path(manifest_path)
    manifest = read_table(manifest_path, MANIFEST_SCHEMA)
    selected, positions = select_views(manifest, config.views)
    if selected.num_rows == 0:
        views = sorted(set(v for v in manifest["view"].to_pylist() if v is not None))
        raise ValueError(f"{manifest_path}: no rows with view in {list(config.views)} (the manifest has views {views})")
    paths = selected["image_path"].to_pylist()
    size = config.size
    logger.info("%s: %d of %d rows have views %s; decoding at %d px (%s) with %d worker(s)", manifest_path,
                len(paths), manifest.num_rows, list(config.views), size, config.resize, threads)

    kept = np.zeros(len(paths), dtype=bool)
    skipped: list[SkippedImage] = []
    with atomic_path(out_npy) as tmp_npy, atomic_path(out_index) as tmp_index:
        writer = NpyWriter(tmp_npy, len(paths), size, output=out_npy)
        done = 0
        workers = min(threads, -(-len(paths) // chunk_size))  # no pool start-up for a single chunk
        results = decode_in_order(_chunked(paths, chunk_size), size, workers, config.resize)
        try:
            with contextlib.closing(results), tqdm(total=len(paths), unit="img",
                                                   desc=f"images {manifest_path.stem}", mininterval=2.0) as bar:
                for images, failures in results:
                    for offset, reason in failures:
                        selected_row = done + offset
                        manifest_row = int(positions[selected_row])
                        if config.on_corrupt == "error":
                            raise CorruptImageError(
                                paths[selected_row],
                                f"{reason} (manifest {manifest_path}, row {manifest_row} (0-based), study "
                                f"{selected['study_id'][selected_row].as_py()}, "
                                f"image {selected['image_id'][selected_row].as_py()})")
                        skipped.append(SkippedImage(manifest_row, paths[selected_row], reason))
                        logger.warning("skipping manifest row %d: %s: %s", manifest_row, paths[selected_row], reason)
                    good = np.ones(len(images), dtype=bool)
                    good[[offset for offset, _ in failures]] = False
                    writer.append(images if good.all() else images[good])
                    kept[done:done + len(images)] = good
                    done += len(images)
                    bar.update(len(images))
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        cursor = writer.rows
        if cursor == 0:
            raise ValueError(f"{manifest_path}: every one of the {len(paths)} selected images is corrupt or missing")
        index = build_index(selected.filter(pa.array(kept)))
        try:
            pq.write_table(index.cast(INDEX_SCHEMA), tmp_index, compression="zstd")
        except OSError as err:
            # pyarrow's OSError carries the errno only in its text
            if not is_disk_full(err):
                raise
            tmp_npy.unlink(missing_ok=True)
            tmp_index.unlink(missing_ok=True)
            usage = shutil.disk_usage(tmp_index.parent)
            raise OSError(errno.ENOSPC, f"{out_index}: no space left on device while writing the index "
                                        f"({_mib(usage.free)} free on the filesystem of {tmp_index.parent} "
                                        f"after removing the partial files)") from err
    seconds = time.perf_counter() - start_time
    if skipped:
        logger.warning("%s: skipped %d corrupt or missing image(s): %s", manifest_path, len(skipped),
                       ", ".join(s.image_path for s in skipped))
    logger.info("wrote %s (%d x %d x %d uint8) and %s in %.1f s (%.1f images/s)", out_npy, cursor, size, size,
                out_index, seconds, len(paths) / max(seconds, 1e-9))
    return ShardSummary(manifest_rows=manifest.num_rows, selected_rows=len(paths), images=cursor,
                        skipped=tuple(skipped), seconds=seconds)


@dataclass(frozen=True)
class ImagesInputs:
    manifest: str | os.PathLike[str]  # data/manifests/{pretrain,eval}.parquet


@dataclass(frozen=True)
class ImagesOutputs:
    images: str | os.PathLike[str]  # the .npy array [N, size, size] uint8
    index: str | os.PathLike[str]   # its row-aligned index Parquet


def run_images(config: ImagesConfig, inputs: ImagesInputs, outputs: ImagesOutputs, *, threads: int = 1) -> Sidecar:
    """The images stage: :func:`build_image_shard`, then one sidecar beside the array and one beside the index
    (row counts, and every skipped file with its reason); returns the array's."""
    summary = build_image_shard(inputs.manifest, outputs.images, outputs.index, config, threads=threads)
    rows = {"manifest": summary.manifest_rows, "selected": summary.selected_rows, "images": summary.images,
            "skipped": len(summary.skipped)}
    skipped = [{"manifest_row": s.manifest_row, "image_path": s.image_path, "reason": s.reason}
               for s in summary.skipped]
    for output in (outputs.images, outputs.index):
        write_sidecar(output, config=to_dict(config), rows=rows, seconds=summary.seconds,
                      extra={"manifest": inputs.manifest, "threads": threads, "skipped_files": skipped})
    return read_sidecar(outputs.images)
