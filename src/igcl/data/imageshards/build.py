"""The images stage: manifest JPEGs -> one ``[N, size, size]`` uint8 ``.npy`` array plus its index Parquet.

The array is written through ``numpy.lib.format.open_memmap`` chunk by chunk, so memory stays bounded at any N,
and both files appear under their final names only once complete (:func:`igcl.io.atomic_path`). Decoding runs in
a process pool over chunks of paths; results are consumed in submission order with a bounded window of chunks in
flight, so the output is byte-identical for any number of workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib.format import open_memmap
from tqdm import tqdm

from igcl.data.imageshards.config import ImagesConfig
from igcl.data.imageshards.decode import CorruptImageError, decode_image, strict_jpeg_loading
from igcl.data.imageshards.index import INDEX_SCHEMA, build_index, select_views
from igcl.io import atomic_path
from igcl.shards.schema import MANIFEST_SCHEMA, read_table

logger = logging.getLogger(__name__)

CHUNK_SIZE = 32  # images per task: large enough to amortise pickling, small enough to keep both workers busy
COPY_BLOCK = 4096  # images per block when compacting the array after skipped rows


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


def decode_chunk(paths: Sequence[str], size: int) -> ChunkResult:
    """Decode ``paths``; failures are returned (not raised) so the caller decides between error and skip."""
    images = np.zeros((len(paths), size, size), dtype=np.uint8)
    failures = []
    with strict_jpeg_loading():
        for i, path in enumerate(paths):
            try:
                images[i] = decode_image(path, size)
            except CorruptImageError as err:
                failures.append((i, err.reason))
    return images, failures


def decode_in_order(chunks: Iterable[Sequence[str]], size: int, threads: int) -> Iterator[ChunkResult]:
    """Yield :func:`decode_chunk` results in the order of ``chunks``, decoded by ``threads`` processes."""
    if threads == 1:
        for paths in chunks:
            yield decode_chunk(paths, size)
        return
    # forkserver: workers do not inherit the parent's threads (tqdm's monitor, torch's pools in a test process);
    # the server imports this module once, so each worker starts as a cheap fork of it, not a fresh import
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(max_workers=threads, mp_context=context)
    pending: deque[Future[ChunkResult]] = deque()
    remaining = iter(chunks)
    try:
        for paths in remaining:
            pending.append(pool.submit(decode_chunk, paths, size))
            if len(pending) >= 2 * threads:
                break
        while pending:
            result = pending.popleft().result()
            paths = next(remaining, None)
            if paths is not None:
                pending.append(pool.submit(decode_chunk, paths, size))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunked(items: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), n):
        yield items[start:start + n]


def _compact(npy: Path, rows: int) -> None:
    """Rewrite the ``.npy`` at ``npy`` keeping only its first ``rows`` images (bounded memory)."""
    source = np.load(npy, mmap_mode="r")
    compact = npy.with_name(npy.name + ".compact")
    try:
        target = open_memmap(compact, mode="w+", dtype=np.uint8, shape=(rows, *source.shape[1:]))
        for start in range(0, rows, COPY_BLOCK):
            target[start:start + COPY_BLOCK] = source[start:min(start + COPY_BLOCK, rows)]
        target.flush()
        del target, source
        os.replace(compact, npy)
    except BaseException:
        compact.unlink(missing_ok=True)
        raise


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
    logger.info("%s: %d of %d rows have views %s; decoding at %d px with %d worker(s)", manifest_path,
                len(paths), manifest.num_rows, list(config.views), size, threads)

    kept = np.zeros(len(paths), dtype=bool)
    skipped: list[SkippedImage] = []
    with atomic_path(out_npy) as tmp_npy, atomic_path(out_index) as tmp_index:
        array = open_memmap(tmp_npy, mode="w+", dtype=np.uint8, shape=(len(paths), size, size))
        cursor = 0
        done = 0
        workers = min(threads, -(-len(paths) // chunk_size))  # no pool start-up for a single chunk
        results = decode_in_order(_chunked(paths, chunk_size), size, workers)
        with contextlib.closing(results), tqdm(total=len(paths), unit="img", desc=f"images {manifest_path.stem}",
                                               mininterval=2.0) as bar:
            for images, failures in results:
                bad = {offset: reason for offset, reason in failures}
                for offset in range(len(images)):
                    selected_row = done + offset
                    if offset in bad:
                        manifest_row = int(positions[selected_row])
                        if config.on_corrupt == "error":
                            raise CorruptImageError(
                                paths[selected_row],
                                f"{bad[offset]} (manifest {manifest_path}, row {manifest_row} (0-based), study "
                                f"{selected['study_id'][selected_row].as_py()}, "
                                f"image {selected['image_id'][selected_row].as_py()})")
                        skipped.append(SkippedImage(manifest_row, paths[selected_row], bad[offset]))
                        logger.warning("skipping manifest row %d: %s: %s", manifest_row, paths[selected_row],
                                       bad[offset])
                        continue
                    array[cursor] = images[offset]
                    kept[selected_row] = True
                    cursor += 1
                done += len(images)
                bar.update(len(images))
        array.flush()
        del array
        if cursor == 0:
            raise ValueError(f"{manifest_path}: every one of the {len(paths)} selected images is corrupt or missing")
        if cursor < len(paths):
            _compact(tmp_npy, cursor)
        index = build_index(selected.filter(pa.array(kept)))
        pq.write_table(index.cast(INDEX_SCHEMA), tmp_index, compression="zstd")
    seconds = time.perf_counter() - start_time
    if skipped:
        logger.warning("%s: skipped %d corrupt or missing image(s): %s", manifest_path, len(skipped),
                       ", ".join(s.image_path for s in skipped))
    logger.info("wrote %s (%d x %d x %d uint8) and %s in %.1f s (%.1f images/s)", out_npy, cursor, size, size,
                out_index, seconds, len(paths) / max(seconds, 1e-9))
    return ShardSummary(manifest_rows=manifest.num_rows, selected_rows=len(paths), images=cursor,
                        skipped=tuple(skipped), seconds=seconds)
