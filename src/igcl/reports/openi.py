"""Real report text for tests and benchmarks: the 3,955 OpenI (Indiana University) chest X-ray reports.

The ``torchxrayvision==1.5.7`` wheel on PyPI carries them as ``torchxrayvision/data/NLMCXR_reports.tgz`` (CC BY-NC-ND:
fetched at test or benchmark time, never committed). :func:`fetch_openi_archive` downloads the wheel with
``pip download --no-deps`` into a cache folder and extracts the archive; :func:`read_openi_reports` turns each XML
record into a report text with the usual section headers (``COMPARISON:``, ``INDICATION:``, ``FINDINGS:``,
``IMPRESSION:``), in the order the record gives them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
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
    reports = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            root = ET.parse(tar.extractfile(member)).getroot()
            uid = root.find("uId")
            study_id = uid.get("id") if uid is not None else Path(member.name).stem
            parts = []
            for node in root.iter("AbstractText"):
                label = (node.get("Label") or "").strip().upper()
                body = " ".join((node.text or "").split())
                if label and body:
                    parts.append(f"{label}: {body}")
            reports.append((study_id, "\n".join(parts)))
    reports.sort(key=lambda item: (len(item[0]), item[0]))
    return reports
