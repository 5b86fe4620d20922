"""The parse stage: reports -> RadGraph-schema graph shards + CheXpert-style labels, written atomically.

Output directory (replaced whole, via :func:`igcl.io.atomic_dir`: a failure at any point leaves no directory)::

    DIR/part-00000.parquet ...  GRAPH_SCHEMA (study_id, nodes, edges), <= rows_per_shard rows each, input order
    DIR/labels.parquet          GRAPH_LABELS_SCHEMA: study_id + the 14 CheXpert observations (float32,
                                1 / 0 / -1 / null) from :func:`igcl.reports.labels.graph_labels`, input order
    DIR.meta.json               sidecar: config, input, counts (reports, empty, undecodable, nodes, edges,
                                shards), seconds per phase, CPU-seconds the workers spent parsing

Sources (``GraphsConfig.source``):

* ``spacy``: any report collection :func:`igcl.reports.inputs.read_reports` reads (manifest, directory of .txt,
  CSV/Parquet ``study_id,text``), parsed by :class:`igcl.reports.parser.ReportParser`. With ``threads > 1`` the
  reports are cut into chunks of ``chunk_size`` and parsed by ``threads`` worker processes (forkserver context, so
  no parent state is inherited), each building one parser once and calling ``parse_many`` per chunk; results come
  back in chunk order, so shards and labels are the same whatever the thread count. The reports reach the workers
  as one memory-mapped Arrow IPC file and each chunk's rows come back as Arrow IPC files, both in a temporary
  spool directory ``.DIR.spool_<random>.tmp`` beside the output (removed at the end; one a kill left behind is
  removed by the next run's :func:`igcl.io.atomic_dir`, never another run's spool in /tmp), so the pool's pipes
  carry only chunk numbers and file names. Workers die with the stage (:func:`igcl.workers.die_with_parent`).
  ``threads == 1`` parses in this process.
* ``radgraph_json``: RadGraph's released graphs, imported by :func:`igcl.reports.radgraph_json.read_radgraph_json`
  (no parsing; the input path is the JSON file).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from igcl.config import to_dict
from igcl.io import Sidecar, atomic_dir, disk_full_is_an_error, read_sidecar, temp_sibling_prefix, write_sidecar
from igcl.reports.columns import GraphColumns, graph_columns
from igcl.reports.config import SOURCES, GraphsConfig  # noqa: F401 (re-exported)
from igcl.contracts.graphs import GraphShardWriter
from igcl.contracts.schema import GRAPH_LABELS_SCHEMA, GRAPH_SCHEMA, write_table
from igcl.workers import die_with_parent

log = logging.getLogger(__name__)

LABELS_FILE = "labels.parquet"


@dataclass
class ParseSummary:
    """What a run did: counts, and seconds per phase (read input, parse, write shards/labels/sidecar)."""

    reports: int = 0
    empty: int = 0
    undecodable: int = 0
    nodes: int = 0
    edges: int = 0
    shards: int = 0
    parse_cpu_seconds: float = 0.0  # summed over workers: text -> graphs -> Arrow rows + labels, start-up excluded
    seconds: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "parse": 0.0, "write": 0.0})

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class ParsedChunk(NamedTuple):
    """One chunk's output: GRAPH_SCHEMA rows, GRAPH_LABELS_SCHEMA rows, CPU-seconds the worker spent on it."""

    graphs: pa.Table
    labels: pa.Table
    cpu_seconds: float


class ChunkParser:
    """Parses chunks ``(study_ids, texts)`` into graph and label tables with one :class:`ReportParser`, built once."""

    def __init__(self, batch_size: int) -> None:
        from igcl.reports.parser import ReportParser

        self.parser = ReportParser()
        self.batch_size = batch_size

    def __call__(self, chunk: tuple[Sequence[str], Sequence[str]]) -> ParsedChunk:
        study_ids, texts = chunk
        start = time.process_time()
        try:
            columns = GraphColumns()
            for study_id, rows in zip(study_ids, self.parser.parse_rows(list(texts), batch_size=self.batch_size),
                                      strict=True):
                columns.add(study_id, *rows)
            return ParsedChunk(*columns.tables(), time.process_time() - start)
        except Exception as err:
            # The parser promises never to raise; if it does, name the reports so the failure can be reproduced.
            raise RuntimeError(f"parsing the chunk of studies {study_ids[0]} .. {study_ids[-1]} failed: "
                               f"{type(err).__name__}: {err}") from err


class SpooledChunk(NamedTuple):
    """What a worker returns for one chunk: Arrow IPC files holding its graph and label rows, and its CPU time."""

    graphs_path: str
    labels_path: str
    cpu_seconds: float


class _WorkerState:
    """A worker process's parser, the memory-mapped reports table, and the directory it writes chunks to.

    Reports go to workers through one Arrow IPC file and results come back as files: the tasks and answers on the
    pool's pipes are a few bytes, so a busy main process never stalls a worker on a full pipe (600 kB of Arrow
    rows per 500 reports do not fit a 64 kB pipe buffer).
    """

    def __init__(self, batch_size: int, reports_path: str, spool: str) -> None:
        self.parse = ChunkParser(batch_size)
        self.reports = pa.ipc.open_file(pa.memory_map(reports_path)).read_all()
        self.spool = Path(spool)

    def __call__(self, task: tuple[int, int, int]) -> SpooledChunk:
        index, start, stop = task
        rows = self.reports.slice(start, stop - start)
        chunk = self.parse((rows.column("study_id").to_pylist(), rows.column("text").to_pylist()))
        graphs_path, labels_path = self.spool / f"{index:06d}.graphs.arrow", self.spool / f"{index:06d}.labels.arrow"
        _write_ipc(chunk.graphs, graphs_path)
        _write_ipc(chunk.labels, labels_path)
        return SpooledChunk(str(graphs_path), str(labels_path), chunk.cpu_seconds)


_WORKER: _WorkerState | None = None


def _init_worker(batch_size: int, reports_path: str, spool: str) -> None:
    global _WORKER
    die_with_parent()  # a killed stage must not leave workers blocked on the task queue
    _WORKER = _WorkerState(batch_size, reports_path, spool)
    # The pipeline and the imported modules are ~300,000 long-lived objects that every full garbage collection
    # would scan again (a tenth of a worker's time); freezing them leaves only the per-report objects to scan.
    gc.freeze()


def _parse_in_worker(task: tuple[int, int, int]) -> SpooledChunk:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER(task)


def _write_ipc(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_ipc(path: str) -> pa.Table:
    """The table in an Arrow IPC file, read into memory; the file is deleted (the spool stays small)."""
    with pa.OSFile(path, "rb") as source:
        table = pa.ipc.open_file(source).read_all()
    os.remove(path)
    return table


def _chunks(study_ids: Sequence[str], texts: Sequence[str], size: int) -> Iterator[tuple[list[str], list[str]]]:
    for start in range(0, len(study_ids), size):
        yield list(study_ids[start:start + size]), list(texts[start:start + size])


# Imported once by the fork server, so workers fork with spaCy/scispacy already loaded (about 4 CPU-seconds of
# imports per worker otherwise) and only build their pipeline. worker_env first: it keeps torch out (see there).
WORKER_PRELOAD = ("igcl.reports.worker_env", "igcl.reports.parser", "igcl.reports.labels", "igcl.reports.stage")


def mp_context() -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (fast worker start, no parent state inherited), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(WORKER_PRELOAD))
        return ctx
    return multiprocessing.get_context("spawn")


def parse_chunks(study_ids: Sequence[str], texts: Sequence[str], cfg: GraphsConfig, threads: int,
                 spool_beside: str | os.PathLike[str]) -> Iterator[ParsedChunk]:
    """Yield :class:`ParsedChunk` for consecutive chunks of the reports, in input order, using ``threads`` processes.

    With more than one worker the spool is ``.{spool_beside.name}.spool_<random>.tmp`` in ``spool_beside``'s
    directory: the output's, so it lies on the output's file system (not a small /tmp) and a kill's leftover is
    removed by the next :func:`igcl.io.atomic_dir` of ``spool_beside``. A generator: the spool is made on the first
    ``next()``, i.e. inside the caller's ``atomic_dir`` (whose litter removal runs on entry, before it)."""
    n_chunks = -(-len(study_ids) // cfg.chunk_size)
    workers = min(threads, n_chunks)
    if workers <= 1:
        parse = ChunkParser(cfg.batch_size)
        for chunk in _chunks(study_ids, texts, cfg.chunk_size):
            yield parse(chunk)
        return
    log.info("parsing %d reports in %d chunks with %d worker processes", len(study_ids), n_chunks, workers)
    tasks = [(i, start, min(start + cfg.chunk_size, len(study_ids)))
             for i, start in enumerate(range(0, len(study_ids), cfg.chunk_size))]
    beside = Path(spool_beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    spool = tempfile.mkdtemp(prefix=temp_sibling_prefix(beside, "spool"), suffix=".tmp", dir=beside.parent)
    try:
        reports_path = str(Path(spool) / "reports.arrow")
        _write_ipc(pa.table({"study_id": pa.array(study_ids, pa.string()), "text": pa.array(texts, pa.string())}),
                   Path(reports_path))
        with mp_context().Pool(workers, initializer=_init_worker,
                               initargs=(cfg.batch_size, reports_path, spool)) as pool:
            for graphs_path, labels_path, cpu_seconds in pool.imap(_parse_in_worker, tasks, chunksize=1):
                yield ParsedChunk(_read_ipc(graphs_path), _read_ipc(labels_path), cpu_seconds)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def radgraph_chunks(path: Path, cfg: GraphsConfig, summary: ParseSummary) -> Iterator[ParsedChunk]:
    """Import a RadGraph JSON file and yield :class:`ParsedChunk` of ``chunk_size`` reports."""
    from igcl.reports.radgraph_json import read_radgraph_json

    pairs = read_radgraph_json(path)
    summary.reports = len(pairs)
    summary.empty = sum(1 for _, graph in pairs if not graph.nodes)
    for start in range(0, len(pairs), cfg.chunk_size):
        part = pairs[start:start + cfg.chunk_size]
        cpu_start = time.process_time()
        tables = graph_columns([s for s, _ in part], [g for _, g in part]).tables()
        yield ParsedChunk(*tables, time.process_time() - cpu_start)


def _count_items(column: pa.ChunkedArray) -> int:
    return int(pc.sum(pc.list_value_length(column)).as_py() or 0)


def run_parse_stage(input_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], cfg: GraphsConfig,
                    threads: int = 1) -> ParseSummary:
    """Read the reports at ``input_path``, parse (or import) them, write ``out_dir`` atomically; see module doc."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    input_path, out_dir = Path(input_path), Path(out_dir)
    summary = ParseSummary()
    started = time.perf_counter()

    if cfg.source == "radgraph_json":
        log.info("importing RadGraph graphs from %s", input_path)
        chunks = radgraph_chunks(input_path, cfg, summary)
    else:
        from igcl.reports.inputs import read_reports

        reports = read_reports(input_path)
        summary.reports, summary.empty, summary.undecodable = len(reports), reports.empty, reports.undecodable
        summary.seconds["read"] = time.perf_counter() - started
        log.info("read %d reports from %s (%s): %d empty, %d not valid UTF-8 (decoded with replacement)",
                 len(reports), input_path, reports.kind, summary.empty, summary.undecodable)
        chunks = parse_chunks(reports.study_ids, reports.texts, cfg, threads, spool_beside=out_dir)

    # closing: a failure stops the workers and removes the spool now, not whenever the generator is collected
    with disk_full_is_an_error(out_dir), atomic_dir(out_dir) as tmp, contextlib.closing(chunks):
        writer = GraphShardWriter(tmp, cfg.rows_per_shard)
        label_tables = []
        writing = 0.0
        with tqdm(total=summary.reports or None, unit="report", desc="parse", mininterval=2.0) as bar:
            for graph_table, label_table, cpu_seconds in chunks:
                summary.parse_cpu_seconds += cpu_seconds
                mark = time.perf_counter()
                writer.add(graph_table)
                label_tables.append(label_table)
                summary.nodes += _count_items(graph_table.column("nodes"))
                summary.edges += _count_items(graph_table.column("edges"))
                writing += time.perf_counter() - mark
                bar.total = summary.reports or None
                bar.update(graph_table.num_rows)
        mark = time.perf_counter()
        if cfg.source == "radgraph_json":
            # The import is done inside the loop's first step; count it as reading, not parsing.
            summary.seconds["read"] = mark - started - writing
        else:
            summary.seconds["parse"] = mark - started - summary.seconds["read"] - writing
        summary.shards = len(writer.close())
        labels = pa.concat_tables(label_tables) if label_tables else GRAPH_LABELS_SCHEMA.empty_table()
        write_table(labels, tmp / LABELS_FILE, GRAPH_LABELS_SCHEMA)
        if writer.rows_written != summary.reports or labels.num_rows != summary.reports:
            raise RuntimeError(f"{out_dir}: wrote {writer.rows_written} graphs and {labels.num_rows} label rows "
                               f"for {summary.reports} reports")
        summary.seconds["write"] = writing + time.perf_counter() - mark
    write_sidecar(out_dir, config=to_dict(cfg),
                  rows={"reports": summary.reports, "empty": summary.empty, "undecodable": summary.undecodable,
                        "nodes": summary.nodes, "edges": summary.edges, "shards": summary.shards},
                  seconds=time.perf_counter() - started,
                  extra={"input": str(input_path), "threads": threads,
                         "phase_seconds": {k: round(v, 3) for k, v in summary.seconds.items()},
                         "parse_cpu_seconds": round(summary.parse_cpu_seconds, 3)})
    log.info("wrote %d graphs (%d nodes, %d edges) in %d shard(s) and %s to %s in %.1f s "
             "(read %.1f s, parse %.1f s, write %.1f s)", summary.reports, summary.nodes, summary.edges,
             summary.shards, LABELS_FILE, out_dir, summary.total_seconds, summary.seconds["read"],
             summary.seconds["parse"], summary.seconds["write"])
    return summary


@dataclass(frozen=True)
class ParseInputs:
    reports: str | os.PathLike[str]  # a manifest, a report table, a folder of .txt reports, or RadGraph's JSON


@dataclass(frozen=True)
class ParseOutputs:
    graphs: str | os.PathLike[str]  # the graph-shard folder (part-*.parquet and labels.parquet)


def run_parse(config: GraphsConfig, inputs: ParseInputs, outputs: ParseOutputs, *, threads: int = 1) -> Sidecar:
    """The parse stage (:func:`run_parse_stage`); returns the graph folder's sidecar."""
    run_parse_stage(inputs.reports, outputs.graphs, config, threads=threads)
    return read_sidecar(outputs.graphs)
