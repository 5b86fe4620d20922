"""The ingest stage: a MIMIC-CXR-JPG or CheXpert tree -> one Parquet manifest (MANIFEST_SCHEMA) and its sidecar."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from igcl.data.chexpert import read_chexpert
from igcl.data.manifest import IngestConfig, write_manifest
from igcl.data.mimic import read_mimic
from igcl.io import Sidecar, read_sidecar

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("mimic", "chexpert")


@dataclass(frozen=True)
class IngestInputs:
    """The tree to read: ``format`` mimic (``root`` the MIMIC-CXR-JPG root, ``reports_root`` where the reports are,
    None: under ``root``) or chexpert (``root`` the CheXpert root; no reports)."""

    format: str
    root: str | os.PathLike[str]
    reports_root: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"ingest format {self.format!r} is not one of {list(FORMATS)}")
        if self.format == "chexpert" and self.reports_root is not None:
            raise ValueError("reports_root applies to the mimic format only (CheXpert ships no reports)")


@dataclass(frozen=True)
class IngestOutputs:
    manifest: str | os.PathLike[str]


def run_ingest(config: IngestConfig, inputs: IngestInputs, outputs: IngestOutputs) -> Sidecar:
    """Read the tree (an :class:`~igcl.data.manifest.IngestError` names the file and row that break the official
    layout) and write the manifest, then its sidecar; returns the sidecar."""
    start = time.perf_counter()
    build = (read_mimic(inputs.root, inputs.reports_root, config) if inputs.format == "mimic"
             else read_chexpert(inputs.root, config))
    write_manifest(build, outputs.manifest, config=config, seconds=time.perf_counter() - start,
                   extra={"format": inputs.format, "root": inputs.root, "reports_root": inputs.reports_root})
    counts = ", ".join(f"{k}: {v}" for k, v in build.counts.items())
    log.info("wrote %s (%d rows) in %.1f s; %s", outputs.manifest, build.table.num_rows,
             time.perf_counter() - start, counts)
    return read_sidecar(outputs.manifest)
