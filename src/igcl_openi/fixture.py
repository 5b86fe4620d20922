"""Hand-annotated OpenI sentences (RADGRAPH_SCHEMA.md) and the parser's entity and relation F1 on them.

The OpenI text is CC BY-NC-ND, so the fixture (``tests/fixtures/openi_radgraph_sentences.json``) holds no text: each
sentence is named by its report's member name in ``NLMCXR_reports.tgz`` (``ecgen-radiology/1.xml``), its character
offsets in the report text that :func:`igcl_openi.reports.read_openi_report_files` builds, and the sha256 of the
sentence; the text is fetched at test or benchmark time and a hash that does not match is an error.

Annotations are over the sentence's tokens (:data:`TOKEN`: words with inner hyphens, apostrophes or slashes kept
whole, every other non-space character its own token, as RadGraph splits text): ``entities`` as ``[first token,
last token, label]`` (inclusive; labels OBS-DP / OBS-U / OBS-DA / ANAT-DP) and ``relations`` as ``[head entity,
tail entity, relation]`` (indices into ``entities``).

Scoring (:func:`score`): the parser reads each whole report; its nodes inside a sentence are mapped to the tokens
they cover. An entity matches on its token span and label (span-only F1: on the span), a relation on its head span,
tail span and relation type. F1 is micro-averaged over all sentences.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from igcl.contracts.schema import ENTITY_LABELS, RELATIONS

TOKEN = re.compile(r"\w+(?:[-'/]\w+)*|[^\w\s]")

Span = tuple[int, int]  # first and last token, inclusive


@dataclass(frozen=True)
class AnnotatedSentence:
    """One fixture row: where the sentence is, its hash, and its hand annotation."""

    file: str
    section: str
    start: int
    end: int
    sha256: str
    entities: tuple[tuple[int, int, str], ...]
    relations: tuple[tuple[int, int, str], ...]

    def where(self) -> str:
        return f"{self.file} [{self.start}:{self.end}]"


def sentence_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_fixture(path: str | os.PathLike[str]) -> list[AnnotatedSentence]:
    """The fixture's sentences, their labels, relation types and indices checked (that the spans lie inside the
    sentence is checked against the fetched text, by :func:`resolve`)."""
    rows = json.loads(Path(path).read_text())["sentences"]
    sentences = []
    for k, row in enumerate(rows):
        sentence = AnnotatedSentence(row["file"], row["section"], row["start"], row["end"], row["sha256"],
                                     tuple(tuple(e) for e in row["entities"]),
                                     tuple(tuple(r) for r in row["relations"]))
        for first, last, label in sentence.entities:
            if label not in ENTITY_LABELS or not 0 <= first <= last:
                raise ValueError(f"{path}: sentence {k} ({sentence.where()}): bad entity {[first, last, label]}")
        for head, tail, relation in sentence.relations:
            if relation not in RELATIONS or not (0 <= head < len(sentence.entities) and
                                                 0 <= tail < len(sentence.entities)):
                raise ValueError(f"{path}: sentence {k} ({sentence.where()}): bad relation {[head, tail, relation]}")
        sentences.append(sentence)
    return sentences


def resolve(sentences: Sequence[AnnotatedSentence], reports: Mapping[str, str]) -> list[str]:
    """Each sentence's text from ``reports`` (member name → report text), hash-checked; raises ``ValueError``
    naming the file and offsets when a report is missing or the text there is not what was annotated."""
    texts = []
    for sentence in sentences:
        report = reports.get(sentence.file)
        if report is None:
            raise ValueError(f"OpenI fixture: no report {sentence.file!r} in the archive")
        text = report[sentence.start:sentence.end]
        if sentence_digest(text) != sentence.sha256:
            raise ValueError(f"OpenI fixture: the text at {sentence.where()} does not match the annotated sentence "
                             f"(sha256 {sentence_digest(text)[:12]}..., expected {sentence.sha256[:12]}...): a "
                             f"different archive or report builder?")
        n_tokens = len(TOKEN.findall(text))
        if any(last >= n_tokens for _, last, _ in sentence.entities):
            raise ValueError(f"OpenI fixture: {sentence.where()} has {n_tokens} tokens; an entity lies past them")
        texts.append(text)
    return texts


@dataclass(frozen=True)
class SentenceGraph:
    """Entities as ``(span, label)`` and relations as ``(head span, tail span, relation)``."""

    entities: frozenset[tuple[Span, str]]
    relations: frozenset[tuple[Span, Span, str]]


def gold_graph(sentence: AnnotatedSentence) -> SentenceGraph:
    spans = [(first, last) for first, last, _ in sentence.entities]
    return SentenceGraph(frozenset((span, e[2]) for span, e in zip(spans, sentence.entities)),
                         frozenset((spans[h], spans[t], r) for h, t, r in sentence.relations))


def predicted_graphs(parser, sentences: Sequence[AnnotatedSentence],
                     reports: Mapping[str, str]) -> list[SentenceGraph]:
    """The parser's graph of each sentence: each report parsed once, whole (its sections decide what is parsed),
    nodes inside the sentence mapped to the tokens they overlap."""
    files = sorted({s.file for s in sentences})
    graphs = dict(zip(files, parser.parse_many(reports[f] for f in files)))
    out = []
    for sentence in sentences:
        graph = graphs[sentence.file]
        text = reports[sentence.file][sentence.start:sentence.end]
        tokens = [(m.start() + sentence.start, m.end() + sentence.start) for m in TOKEN.finditer(text)]
        spans: dict[int, Span] = {}
        for i, node in enumerate(graph.nodes):
            if node.start >= sentence.start and node.end <= sentence.end:
                covered = [k for k, (a, b) in enumerate(tokens) if a < node.end and b > node.start]
                if covered:
                    spans[i] = (covered[0], covered[-1])
        entities = frozenset((spans[i], graph.nodes[i].label) for i in spans)
        relations = frozenset((spans[e.src], spans[e.dst], e.relation) for e in graph.edges
                              if e.src in spans and e.dst in spans)
        out.append(SentenceGraph(entities, relations))
    return out


@dataclass(frozen=True)
class Score:
    true_positive: int
    false_positive: int
    false_negative: int

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    @property
    def recall(self) -> float:
        gold = self.true_positive + self.false_negative
        return self.true_positive / gold if gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _count(pairs: Iterable[tuple[frozenset, frozenset]]) -> Score:
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return Score(tp, fp, fn)


def score(gold: Sequence[SentenceGraph], predicted: Sequence[SentenceGraph]) -> dict[str, Score]:
    """Micro-averaged scores: ``entity`` (span + label), ``span`` (span only), ``relation`` (both spans + type),
    and one ``relation:<type>`` per relation type."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences, {len(predicted)} predicted")
    pairs = list(zip(gold, predicted))
    scores = {
        "entity": _count((g.entities, p.entities) for g, p in pairs),
        "span": _count((frozenset(s for s, _ in g.entities), frozenset(s for s, _ in p.entities)) for g, p in pairs),
        "relation": _count((g.relations, p.relations) for g, p in pairs),
    }
    for relation in RELATIONS:
        scores[f"relation:{relation}"] = _count(
            (frozenset(x for x in g.relations if x[2] == relation), frozenset(x for x in p.relations if x[2] == relation))
            for g, p in pairs)
    return scores
