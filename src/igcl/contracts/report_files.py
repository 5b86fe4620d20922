"""The one reader of a manifest's report files for chosen studies (training's texts, retrieval's candidates).

A study's report is the file its manifest rows name in ``report_path`` (the first non-null one), read as UTF-8
with undecodable bytes replaced (U+FFFD), as the parse stage decodes them, so every stage sees the same text. A
study without a row, a report_path or a readable file raises ValueError naming the manifest or the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from igcl.contracts.schema import MANIFEST_SCHEMA, read_table


def report_texts_of(manifest_path: str | os.PathLike[str], studies: Sequence[str], *, what: str) -> dict[str, str]:
    """study_id -> the raw text of its report file, for each of ``studies``; ``what`` names them in errors
    (e.g. "train study")."""
    wanted = set(studies)
    table = read_table(manifest_path, MANIFEST_SCHEMA).select(["study_id", "report_path"])
    paths: dict[str, str | None] = {}
    for study, path in zip(table["study_id"].to_pylist(), table["report_path"].to_pylist()):
        if study in wanted and paths.get(study) is None:
            paths[study] = path
    texts = {}
    for study in sorted(wanted):
        path = paths.get(study)
        if path is None:
            raise ValueError(f"{manifest_path}: {what} {study} has no report_path")
        try:
            texts[study] = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise ValueError(f"{manifest_path}: the report of {what} {study} is unreadable at {path} ({err})") from err
    return texts
