"""Real report text for tests and benchmarks: the 3,955 OpenI (Indiana University) chest X-ray reports.

The ``torchxrayvision==1.5.7`` wheel on PyPI carries them as ``torchxrayvision/data/NLMCXR_reports.tgz`` (CC BY-NC-ND:
fetched at test or benchmark time, never committed). :func:`fetch_openi_archive` downloads the wheel with
``pip download --no-deps`` into a cache folder and extracts the archive; :func:`read_openi_reports` turns each XML
record into a report text with the usual section headers (``COMPARISON:``, ``INDICATION:``, ``FINDINGS:``,
``IMPRESSION:``), in the order the record gives them.

Each record also carries the MeSH terms NLM's indexers assigned to the report (``<MeSH><major>Cardiomegaly/mild``):
human annotations of the same text, made without our parser. :func:`read_openi_mesh` reads them and
:func:`label_agreement` scores CheXpert labels against them (``bench/parse_quality``, and a floor in the tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

WHEEL_SPEC = "torchxrayvision==1.5.7"
ARCHIVE_MEMBER = "torchxrayvision/data/NLMCXR_reports.tgz"
ARCHIVE_NAME = "NLMCXR_reports.tgz"
N_REPORTS = 3955


def default_cache_dir() -> Path:
    return Path(os.environ.get("IGCL_CACHE", Path.home() / ".cache" / "igcl"))


def fetch_openi_archive(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of ``NLMCXR_reports.tgz``, downloading the wheel from the package registry if needed."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    archive = cache / ARCHIVE_NAME
    if archive.is_file():
        return archive
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("torchxrayvision-1.5.7-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache), WHEEL_SPEC]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(cache.glob("torchxrayvision-1.5.7-*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {WHEEL_SPEC} into {cache}: {result.stderr.strip()[-500:]}")
    tmp = archive.with_suffix(".tgz.tmp")
    with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(ARCHIVE_MEMBER) as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, archive)
    return archive


def read_openi_reports(archive: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(study_id, text)`` for every report in the archive, sorted by numeric id; ids are ``CXR<n>``.

    A section the record leaves empty is omitted, so a report may have only FINDINGS or only IMPRESSION.
    """
    reports = [(study_id, report_text(root)) for study_id, _, root in _records(archive)]
    reports.sort(key=lambda item: (len(item[0]), item[0]))
    return reports


def read_openi_report_files(archive: str | os.PathLike[str]) -> dict[str, str]:
    """Archive member name (``ecgen-radiology/1.xml``) → the report text that :func:`read_openi_reports` gives."""
    return {name: report_text(root) for _, name, root in _records(archive)}


def report_text(root: ET.Element) -> str:
    """One record's report: ``LABEL: body`` per non-empty section, in record order, joined by newlines."""
    parts = []
    for node in root.iter("AbstractText"):
        label = (node.get("Label") or "").strip().upper()
        body = " ".join((node.text or "").split())
        if label and body:
            parts.append(f"{label}: {body}")
    return "\n".join(parts)


# CheXpert observation -> the MeSH major heading(s) NLM's indexers use for it in OpenI. Only observations with
# unambiguous headings are scored (Lung Opacity, Pleural Other and the rest map to many overlapping headings).
MESH_HEADINGS: dict[str, tuple[str, ...]] = {
    "No Finding": ("normal",),
    "Cardiomegaly": ("Cardiomegaly",),
    "Atelectasis": ("Pulmonary Atelectasis",),
    "Pleural Effusion": ("Pleural Effusion",),
    "Edema": ("Pulmonary Edema", "Pulmonary Congestion"),  # CheXpert's Edema takes in vascular congestion
    "Pneumothorax": ("Pneumothorax",),
    "Consolidation": ("Consolidation",),
    "Pneumonia": ("Pneumonia",),
    "Fracture": ("Fractures, Bone",),
    "Lung Lesion": ("Nodule", "Mass"),
    # ("Surgical Instruments", the indexers' heading for clips and sternotomy wires, is left out: CheXpert does not
    # count those as support devices)
    "Support Devices": ("Catheters, Indwelling", "Implanted Medical Device", "Tube, Inserted", "Medical Device",
                        "Stents"),
}
NOT_INDEXED = "No Indexing"


def read_openi_mesh(archive: str | os.PathLike[str]) -> dict[str, frozenset[str]]:
    """``study_id -> `` the MeSH major headings of its report, qualifiers dropped (``Cardiomegaly/mild`` ->
    ``Cardiomegaly``); study ids as :func:`read_openi_reports` gives them."""
    return {study_id: frozenset((node.text or "").split("/")[0].strip() for node in root.iter("major")
                                if (node.text or "").strip())
            for study_id, _, root in _records(archive)}


def _records(archive: str | os.PathLike[str]) -> Iterator[tuple[str, str, ET.Element]]:
    """``(study_id, member name, XML root)`` of every report record in the archive, in archive order."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            root = ET.parse(tar.extractfile(member)).getroot()
            uid = root.find("uId")
            yield (uid.get("id") if uid is not None else Path(member.name).stem), member.name, root


@dataclass(frozen=True)
class Agreement:
    """Derived positive labels (1.0) against the MeSH headings of one observation, over the indexed reports."""

    observation: str
    headings: tuple[str, ...]
    true_positive: int
    false_positive: int
    false_negative: int

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else float("nan")

    @property
    def recall(self) -> float:
        tagged = self.true_positive + self.false_negative
        return self.true_positive / tagged if tagged else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else float("nan")


def indexed_studies(studies: Iterable[str], mesh: Mapping[str, frozenset[str]]) -> list[str]:
    """Those of ``studies`` that the indexers indexed (a MeSH record, not ``No Indexing``)."""
    return [s for s in studies if mesh.get(s) and NOT_INDEXED not in mesh[s]]


def label_agreement(labels: Mapping[str, Mapping[str, float | None]],
                    mesh: Mapping[str, frozenset[str]]) -> list[Agreement]:
    """One :class:`Agreement` per :data:`MESH_HEADINGS` entry: a study counts as positive by us when its label is
    1.0 and by the indexers when one of the headings is among its major terms. Studies the indexers marked
    ``No Indexing`` (or that have no MeSH record) are left out."""
    studies = indexed_studies(labels, mesh)
    rows = []
    for observation, headings in MESH_HEADINGS.items():
        ours = {s for s in studies if labels[s].get(observation) == 1.0}
        theirs = {s for s in studies if not mesh[s].isdisjoint(headings)}
        rows.append(Agreement(observation, headings, len(ours & theirs), len(ours - theirs), len(theirs - ours)))
    return rows
