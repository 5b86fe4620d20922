"""Radiology report text → RadGraph-schema entity-relation graph (:class:`ReportParser`).

Only the FINDINGS and IMPRESSION sections are parsed (as RadGraph annotates them), or the whole text when it has
neither header (:func:`igcl.reports.sections.split_sections`). The text from the first section's body to the last
one's end is tokenized once, with the other characters in between (other headers, e.g. ``IMPRESSION:``) blanked
to spaces so that character offsets stay those of the report. The rules are in :mod:`igcl.reports.extract`, the
words in :mod:`igcl.reports.lexicon`, the spaCy components in :mod:`igcl.reports.components` (no statistical
model and no medspaCy component: see there for why), CheXpert labels from a graph in :mod:`igcl.reports.labels`.

``parse_rows`` gives each graph as plain lists (what the parse stage's workers append to their Arrow columns);
``parse_many`` builds ``ReportGraph`` objects from the same lists. Throughput (``bench/parse``, BENCHMARKS.md): about
2,000-2,700 OpenI reports per CPU-second through ``parse_rows`` + columns on the 2-core dev machine, of which the
scispacy tokenizer is about a fifth.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
from collections import deque
from typing import Iterable, Iterator

import spacy
from scispacy.custom_tokenizer import combined_rule_tokenizer
from spacy.tokens import Doc

from igcl.reports import components
from igcl.reports.graph import ANAT_LABEL, Edge, Node, ReportGraph, relation_allowed
from igcl.reports.sections import Section, split_sections
from igcl.contracts.schema import ENTITY_LABELS, RELATIONS

# Control and zero-width characters glue to words ("effusion.\x00") and hide them from the lexicon; they become
# spaces before tokenizing (one character each, so offsets are unchanged).
_BLANK_CONTROL = {c: " " for c in [*range(0, 9), 11, 12, *range(14, 32), *range(127, 160), 0x200B, 0x200C, 0x200D,
                                   0x2028, 0x2029, 0xFEFF]}


def build_pipeline() -> spacy.language.Language:
    """``spacy.blank("en")`` + scispacy's rule tokenizer + the igcl components (no statistical models)."""
    nlp = spacy.blank("en")
    with warnings.catch_warnings():
        # scispacy's infix pattern has "[[" in a character class; Python's re warns about it on every build
        # (once per parse worker), though the pattern means what scispacy intends today.
        warnings.filterwarnings("ignore", message="Possible set union", category=FutureWarning)
        nlp.tokenizer = combined_rule_tokenizer(nlp)
    # "atelectasis/airspace disease", "atelectasis/infiltrate": split a slash between two words of 3+ letters
    # (scispacy keeps them whole); "s/p", "r/o", "and/or" stay one token.
    infixes = nlp.tokenizer.infix_finditer.__self__.pattern
    nlp.tokenizer.infix_finditer = re.compile(infixes + r"|(?<=[A-Za-z]{3})/(?=[A-Za-z]{3})").finditer
    nlp.max_length = 1 << 31  # reports are parsed linearly; a huge one is slow, never an error
    for name in components.PIPE_NAMES:
        nlp.add_pipe(name)
    return nlp


class ReportParser:
    """Parses report texts into :class:`ReportGraph` objects.

    Builds its spaCy pipeline once; pickling sends no pipeline (a worker process rebuilds it in about a second).
    ``parse`` and ``parse_many`` never raise on odd text: empty or blank text gives an empty graph.
    """

    def __init__(self) -> None:
        self.nlp = build_pipeline()

    def __reduce__(self):
        return (ReportParser, ())

    def parse(self, text: str) -> ReportGraph:
        return next(self.parse_many([text]))

    def parse_many(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[ReportGraph]:
        """One graph per text, in order."""
        for texts_, labels, starts, ends, sections, edges in self.parse_rows(texts, batch_size):
            yield ReportGraph(tuple(map(_node, texts_, labels, starts, ends, sections)),
                              tuple(_edge(*edge) for edge in edges))

    def parse_rows(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[NodeRows]:
        """One :data:`NodeRows` per text, in order (``nlp.pipe`` over the section texts): a graph's fields as
        plain lists, which the parse stage appends to its columns without building a ``Node`` per entity."""
        contexts: deque[tuple[str, int, list[Section]]] = deque()  # nlp.pipe keeps order

        def docs() -> Iterator[Doc]:
            for text in texts:
                if not isinstance(text, str):
                    raise TypeError(f"report text must be str, got {type(text).__name__}")
                sections = split_sections(text)
                region, offset = _region(text, sections)
                doc = self.nlp.make_doc(region)
                doc.user_data[components.SECTION_STARTS_KEY] = [s.start - offset for s in sections]
                doc.user_data[components.TEXT_KEY] = region
                contexts.append((text, offset, sections))
                yield doc

        for doc in self.nlp.pipe(docs(), batch_size=batch_size):
            text, offset, sections = contexts.popleft()
            yield _rows(doc, text, offset, sections)


NodeRows = tuple[list[str], list[str], list[int], list[int], list[str], list[tuple[int, int, str]]]
"""One graph as lists: node texts, labels, starts, ends, sections (aligned), and ``(src, dst, relation)`` edges."""


def _region(text: str, sections: list[Section]) -> tuple[str, int]:
    """The text from the first section's start to the last one's end, non-section characters blanked."""
    if not sections:
        return "", 0
    start, end = sections[0].start, sections[-1].end
    pieces, cursor = [], start
    for section in sections:
        if section.start > cursor:
            gap = text[cursor:section.start]
            pieces.append("".join(c if c == "\n" else " " for c in gap))
        pieces.append(text[section.start:section.end])
        cursor = section.end
    return "".join(pieces).translate(_BLANK_CONTROL), start


def _rows(doc: Doc, text: str, offset: int, sections: list[Section]) -> NodeRows:
    state = doc.user_data.get(components.STATE_KEY)
    if state is None or not state.entities:
        return [], [], [], [], [], []
    entities, token_starts, token_ends = state.entities, state.starts, state.ends
    starts = [token_starts[e.start] + offset for e in entities]
    ends = [token_ends[e.end - 1] + offset for e in entities]
    if len(sections) == 1:
        names = [sections[0].name] * len(entities)
    else:
        section_starts = [s.start for s in sections]
        names = [sections[max(0, bisect_right(section_starts, start) - 1)].name for start in starts]
    labels = [ANAT_LABEL if e.is_anatomy else _OBS_LABEL[e.status] for e in entities]
    allowed = _ALLOWED
    edges = [(h, t, r) for h, t, r in sorted(state.edges) if h != t and (r, labels[h], labels[t]) in allowed]
    return [text[a:b] for a, b in zip(starts, ends)], labels, starts, ends, names, edges


_OBS_LABEL = {"DP": "OBS-DP", "DA": "OBS-DA", "U": "OBS-U"}
_ALLOWED = frozenset((r, h, t) for r in RELATIONS for h in ENTITY_LABELS for t in ENTITY_LABELS
                     if relation_allowed(r, h, t))


def _node(text: str, label: str, start: int, end: int, section: str, _new=object.__new__) -> Node:
    """``Node(text, label, start, end, section)`` without the frozen dataclass's per-field ``object.__setattr__``
    calls (a fifth of the parser's time went into building nodes); the result is an ordinary, equal ``Node``."""
    node = _new(Node)
    node.__dict__.update(text=text, label=label, start=start, end=end, section=section)
    return node


def _edge(src: int, dst: int, relation: str, _new=object.__new__) -> Edge:
    edge = _new(Edge)
    edge.__dict__.update(src=src, dst=dst, relation=relation)
    return edge
