"""The data roots a user configures (``data:`` in config.yaml), checked when the workflow is read.

Each root must exist and hold its data set's layout markers, so that a typo, an unmounted volume or a root of the
wrong data set stops the workflow before any job runs, with the config key and what is missing, instead of
silently reusing manifests made from an earlier root. Only names are checked here (no file is read): ingest
reads and checks the contents. This module imports nothing heavy; the workflow imports it at DAG-build time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from igcl.data.columns import CHEXPERT_CSVS, CHEXPERT_TEST_CSVS, MIMIC_CHEXPERT_CSV, MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV

# What a "null" looks like once it has passed through a command line (``--config data={mimic_root: null}`` gives
# the string "null"): all of these mean "no root: use the phantom".
NULL_STRINGS = frozenset({"", "null", "none", "~"})


@dataclass(frozen=True)
class RootLayout:
    """The entries a data set's root holds: ``files`` must be files, ``folders`` folders; ``optional_files`` may be
    absent, but one that is there must be a file."""

    description: str
    files: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    optional_files: tuple[str, ...] = ()


LAYOUTS: dict[str, RootLayout] = {
    "mimic_root": RootLayout("a MIMIC-CXR-JPG 2.0.0 root", files=(MIMIC_METADATA_CSV, MIMIC_SPLIT_CSV,
                                                                   MIMIC_CHEXPERT_CSV), folders=("files",)),
    "mimic_reports_root": RootLayout("a MIMIC-CXR reports root (files/pXX/pSUBJECT/sSTUDY.txt)", folders=("files",)),
    # the test labels (test_labels.csv or groundtruth.csv) are read when present; most downloads lack them
    "chexpert_root": RootLayout("a CheXpert-v1.0 or CheXpert-v1.0-small root", files=CHEXPERT_CSVS,
                                optional_files=CHEXPERT_TEST_CSVS),
}


def normalise_root(value: Any) -> str | None:
    """A configured root as a path string, or None for the phantom (None and the command-line spellings of null)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"expected a folder path or null, got {value!r}")
    text = os.fspath(value).strip()
    return None if text.lower() in NULL_STRINGS else text


def layout_problems(path: Path, layout: RootLayout) -> list[str]:
    """What ``path`` lacks to be a root of ``layout`` (empty when it is one)."""
    if not path.exists():
        return ["the folder does not exist"]
    if not path.is_dir():
        return ["it is not a folder"]
    missing = [name for name in layout.files if not (path / name).is_file()]
    missing += [f"{name}/" for name in layout.folders if not (path / name).is_dir()]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    not_files = [name for name in layout.optional_files if (path / name).exists() and not (path / name).is_file()]
    return problems + [f"{name} is not a file" for name in not_files]


def check_data_roots(data: Mapping[str, Any], where: str = "data") -> dict[str, str | None]:
    """The ``data`` section with every root normalised (:func:`normalise_root`) and checked against its layout.

    Raises ValueError naming the config key, the path and what is missing. A reports root of None means "the
    images' root", so it is checked only when given.
    """
    unknown = sorted(set(data) - set(LAYOUTS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(LAYOUTS)}")
    roots: dict[str, str | None] = {}
    for key, layout in LAYOUTS.items():
        try:
            root = normalise_root(data.get(key))
        except ValueError as err:
            raise ValueError(f"{where}.{key}: {err}") from None
        roots[key] = root
        if root is None:
            continue
        problems = layout_problems(Path(root), layout)
        if problems:
            raise ValueError(f"{where}.{key}: {root} is not {layout.description}: {'; '.join(problems)}")
    if roots["mimic_reports_root"] is not None and roots["mimic_root"] is None:
        raise ValueError(f"{where}.mimic_reports_root is set ({roots['mimic_reports_root']}) but mimic_root is null: "
                         "the phantom has its own reports; set mimic_root too, or leave both null")
    return roots
