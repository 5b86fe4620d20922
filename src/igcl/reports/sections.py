"""Find the FINDINGS and IMPRESSION sections of a radiology report.

RadGraph annotates only these two sections, so the parser reads only them (and the ConVIRT text encoder uses the
same split to pick its text). Headers are recognised MIMIC style (``FINDINGS:`` on its own line, the body below) and
OpenI style (``FINDINGS: body`` on one line), case-insensitively, at the start of a line. A section runs from the
end of its header to the next header of any kind (``INDICATION:``, ``COMPARISON:``, ``NOTIFICATION:``...), or to the
end of the text. A report with neither header is one ``text`` section spanning the whole (stripped) report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Any "WORD(S):" at the start of a line is a header; the ones we keep are mapped to section names.
_HEADER = re.compile(r"(?im)^[ \t]*([A-Z][A-Z /&()-]{1,40}?)[ \t]*:")
_KEEP = {"findings": "findings", "finding": "findings", "impression": "impression", "impressions": "impression",
         "conclusion": "impression", "conclusions": "impression"}


@dataclass(frozen=True)
class Section:
    """A section's name (``findings``, ``impression`` or ``text``) and its body's span ``[start, end)`` in the text."""

    name: str
    start: int
    end: int


def split_sections(text: str) -> list[Section]:
    """The FINDINGS/IMPRESSION sections of ``text`` in text order; ``[Section("text", ...)]`` if it has neither.

    Bodies are stripped of surrounding whitespace; empty bodies are dropped. Empty or blank text gives ``[]``.
    """
    headers = [(m.start(), m.end(), m.group(1).strip().lower()) for m in _HEADER.finditer(text)]
    sections = []
    for k, (_, body_start, name) in enumerate(headers):
        section = _KEEP.get(name)
        if section is None:
            continue
        body_end = headers[k + 1][0] if k + 1 < len(headers) else len(text)
        span = _strip(text, body_start, body_end)
        if span is not None:
            sections.append(Section(section, *span))
    if sections or any(_KEEP.get(name) for _, _, name in headers):
        return sections
    span = _strip(text, 0, len(text))
    return [Section("text", *span)] if span is not None else []


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None
