"""The ``ingest`` config section (a module of its own, free of pyarrow and polars: the workflow checks it when it
reads config.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

ON_MISSING = ("error", "skip")
CANONICAL_VIEWS = ("PA", "AP", "LATERAL")
# FRONTAL: a CheXpert frontal image with a blank AP/PA cell, and every CheXpert test image (its label files have no
# AP/PA column); without it the default would drop the whole test split.
DEFAULT_VIEWS = CANONICAL_VIEWS + ("FRONTAL",)


@dataclass(frozen=True)
class IngestConfig:
    """The ``ingest`` config section.

    on_missing: what to do with an image listed in a CSV but absent on disk, or a MIMIC study without its report:
        ``error`` stops naming the file and CSV row; ``skip`` drops the row(s) and counts them.
    views: the views the manifest keeps (after mapping: PA, AP, LATERAL, or another value upper-cased, e.g.
        ``AP AXIAL``; MIMIC rows with an empty ViewPosition are ``UNKNOWN``, CheXpert frontal images with an
        empty AP/PA and CheXpert test frontal images are ``FRONTAL``).
    """

    on_missing: str = "error"
    views: tuple[str, ...] = DEFAULT_VIEWS

    def __post_init__(self) -> None:
        if self.on_missing not in ON_MISSING:
            raise ValueError(f"ingest.on_missing: {self.on_missing!r} is not one of {list(ON_MISSING)}")
        if not self.views or not all(isinstance(v, str) and v for v in self.views):
            raise ValueError(f"ingest.views: expected a non-empty list of view names, got {list(self.views)!r}")
        if any(v != v.upper() for v in self.views):
            raise ValueError(f"ingest.views: view names are upper-case (e.g. PA, AP, LATERAL), got {list(self.views)}")
        if len(set(self.views)) != len(self.views):
            raise ValueError(f"ingest.views: duplicate view names in {list(self.views)}")
