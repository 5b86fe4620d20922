"""Rule-based RadGraph extraction over one tokenized text: entities, assertion, relations.

The spaCy components in :mod:`igcl.reports.components` call these functions in order on a :class:`TextState`,
which holds plain Python lists (lower-case words, character offsets) so that every rule is a dictionary lookup
rather than a spaCy attribute access; that keeps the parser above 2,000 reports per CPU-second.

Steps (each writes fields of the state):

1. :func:`find_sentences`: sentences end at ``.``/``?``/``!``, at a blank line, and between sections.
2. :func:`find_entities`: longest-match lexicon lookup (:mod:`igcl.reports.lexicon`), one entity per word except
   for the few multi-word entries (``in place``, ``air space``); words about the exam or the report
   (:func:`exam_words`: "PA and lateral chest radiographs", "findings were discussed") are not entities.
3. :func:`assign_assertion`: per sentence, a left-to-right scan over negation and hedging cues; a cue before its
   scope holds until a clause terminator (``;``, ``but``, ``which``...), a finite verb after an entity, or 25 words;
   a cue that follows its scope (``is not seen``, ``cannot be excluded``, ``?``) applies back to the clause start.
4. :func:`find_relations`: entities that touch form a *chunk* (``small left pleural effusion``; also anatomy
   joined by *and* and "left greater than right"); inside a chunk, the other anatomy words modify the last organ or
   part word (*lobe* in "left lower lobe", *base* in "right lung base"), coordination shares that head
   ("mediastinal and hilar contours"), descriptors modify the finding, and the finding is located_at the anatomy
   head (:func:`_chunks`). Then the named rules of :data:`CHUNK_RULES` run, in order, on each chunk left to right
   (:func:`predicate`, :func:`descriptor_after_comma`, :func:`coordinated_descriptor`,
   :func:`descriptor_of_finding`, :func:`location_after`,
   :func:`part_of_anatomy`, :func:`clause_subject`; each docstring states its pattern), then
   :func:`suggestive_of`. Descriptors then take the assertion of what they modify.

Every word list the rules read is in the lexicon.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from igcl.reports import lexicon as lx

# Entity kinds (internal): finding head, descriptor, anatomy position / organ / part.
FINDING, DESCRIPTOR, POSITION, ORGAN, PART = "F", "D", "AP", "AO", "AX"
ANATOMY_KINDS = frozenset({POSITION, ORGAN, PART})

MAX_FORWARD_SCOPE = 25  # words a cue before its scope can reach
LOOKAHEAD = 4  # words a two-way cue looks ahead for an entity before it applies backwards
MAX_LOCATION_GAP = 6
MAX_PREDICATE_GAP = 5
MAX_SUGGESTIVE_GAP = 6
MAX_ANATOMY_LIST = 8  # items of "A, B, and C are normal" before the last one that the predicate reaches back to
MAX_BACKWARD_SCOPE = 30  # words a cue after its scope can reach back (keeps odd, unpunctuated text linear)


def _word_classes() -> dict[str, str]:
    classes: dict[str, str] = {}
    for words, kind in ((lx.DESCRIPTORS_ONLY, DESCRIPTOR), (lx.FINDINGS_ONLY, FINDING), (lx.ANAT_PART, PART),
                        (lx.ANAT_ORGAN, ORGAN), (lx.ANAT_POSITION, POSITION)):
        for word in words:
            classes[word] = kind
    return classes


WORD_CLASS: dict[str, str] = _word_classes()


def _phrase_index(phrases: dict[tuple[str, ...], object]) -> dict[str, list[tuple[tuple[str, ...], object]]]:
    """First word → [(phrase, payload)], longest phrase first, for greedy longest-match lookup."""
    index: dict[str, list[tuple[tuple[str, ...], object]]] = {}
    for phrase, payload in phrases.items():
        index.setdefault(phrase[0], []).append((phrase, payload))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return index


# Multi-word entity names (single words are looked up in WORD_CLASS directly).
ENTITY_PHRASES = _phrase_index({tuple(w.split()): kind for w, kind in WORD_CLASS.items() if " " in w})


@dataclass(frozen=True)
class Cue:
    kind: str  # "neg" or "hedge"
    two_way: bool  # may apply backwards when nothing follows it in the clause
    weak: bool  # a hedge that leaves a negation in force
    alternative: bool = False  # "X versus Y": applies to the phrase before it and the one after
    clause: bool = False  # "small, if any, effusion": applies to its whole clause, before and after it


def _cue_table() -> dict[tuple[str, ...], Cue]:
    table: dict[tuple[str, ...], Cue] = {}
    for phrase in lx.NEGATION_PRE:
        table[phrase] = Cue("neg", phrase in lx.NEGATION_BIDIRECTIONAL, False)
    for phrase in lx.HEDGE_PRE:
        table[phrase] = Cue("hedge", phrase in lx.HEDGE_BIDIRECTIONAL, phrase in lx.HEDGE_WEAK_UNDER_NEGATION,
                            phrase in lx.ALTERNATIVE_CUES, phrase in lx.HEDGE_CLAUSE)
    return table


CUES = _phrase_index(_cue_table())
SUGGESTIVE = _phrase_index({phrase: True for phrase in lx.SUGGESTIVE_CUES})
# The first words of the cues: a sentence without one has no cue (checked with one set operation).
CUE_WORDS: frozenset[str] = frozenset(CUES)
SUGGESTIVE_WORDS: frozenset[str] = frozenset(SUGGESTIVE)


# Every word a rule looks at; the token view maps other words to None.
KNOWN_WORDS: frozenset[str] = frozenset(
    set(WORD_CLASS) | {w for phrase in WORD_CLASS if " " in phrase for w in phrase.split()}
    | {w for phrase in lx.NEGATION_PRE | lx.HEDGE_PRE | lx.SUGGESTIVE_CUES for w in phrase}
    | lx.TERMINATORS | lx.SENTENCE_END | lx.VERB_TERMINATORS | {w for c in lx.ANAT_COORDINATORS for w in c}
    | lx.PREDICATE_GAP
    | lx.LOCATION_GAP | lx.PSEUDO_NEGATION_TAILS | lx.PSEUDO_NEGATION_FILLERS | lx.PRIOR_STUDY_WORDS | lx.VIEW_WORDS
    | lx.EXAM_MODIFIERS | lx.EXAM_REGION_GAP | lx.REPORT_WORDS | lx.COMMUNICATION_VERBS | lx.REPORT_VERB_GAP
    | lx.STRUCTURE_WORDS | set(lx.COMPARATIVE_JOIN) | lx.ATTRIBUTIVE_LEADS | lx.SUGGESTIVE_LIST_GAP
    | lx.DESCRIPTOR_COORDINATION | lx.ANAPHORA_WORDS
)


class Entity:
    """``[start, end)`` token span, kind (F/D/AP/AO/AX) and status (DP/DA/U; anatomy stays DP)."""

    __slots__ = ("start", "end", "kind", "is_anatomy", "status", "pinned")

    def __init__(self, start: int, end: int, kind: str) -> None:
        self.start, self.end, self.kind = start, end, kind
        self.is_anatomy = kind in ANATOMY_KINDS
        self.status = "DP"
        self.pinned = False  # status set by a pseudo-negation ("no change"): not taken from what it modifies

    def __repr__(self) -> str:
        return f"Entity({self.start}, {self.end}, {self.kind!r}, {self.status!r})"


@dataclass
class TextState:
    """One text's tokens and what the steps found. ``words[i]`` is the lower-cased token if the lexicon knows it,
    else ``None``; ``starts``/``ends`` are character offsets into the text given to the tokenizer."""

    words: list[str | None]
    starts: list[int]
    ends: list[int]
    numeric: list[bool]
    breaks: set[int] = field(default_factory=set)  # token indices that start a sentence
    sentences: list[tuple[int, int]] = field(default_factory=list)
    sentence_of: list[int] = field(default_factory=list)  # token → sentence index
    entities: list[Entity] = field(default_factory=list)
    edges: set[tuple[int, int, str]] = field(default_factory=set)  # (head entity, tail entity, relation)


# --- 1. sentences -----------------------------------------------------------------------------------------------
def find_sentences(state: TextState) -> None:
    words, n = state.words, len(state.words)
    bounds, begin = [], 0
    for i in range(n):
        if i in state.breaks and i > begin:
            bounds.append((begin, i))
            begin = i
        if words[i] in lx.SENTENCE_END:
            bounds.append((begin, i + 1))
            begin = i + 1
    if begin < n:
        bounds.append((begin, n))
    state.sentences = [(a, b) for a, b in bounds if b > a]
    sentence_of = [0] * n
    for k, (a, b) in enumerate(state.sentences):
        sentence_of[a:b] = [k] * (b - a)
    state.sentence_of = sentence_of


# --- 2. entities ------------------------------------------------------------------------------------------------
_EXAM_CUES = lx.VIEW_WORDS | lx.COMMUNICATION_VERBS | {"lateral"}


def exam_words(words: list[str | None]) -> set[int]:
    """Token indices of words about the examination or the report, which are not entities:

    - a run of exam words (:data:`lexicon.EXAM_MODIFIERS`) right before a view word: "PA and lateral chest
      radiographs", "portable AP chest x-ray", "lateral view";
    - "PA and lateral", "frontal and lateral" (a projection, *and*, *lateral*) with no view word;
    - the region of a view: "views of the chest", "radiograph of the chest";
    - the report's findings as the subject of a communication verb: "findings were discussed with ...".
    """
    found: set[int] = set()
    n = len(words)
    for i, word in enumerate(words):
        if word in lx.VIEW_WORDS:
            j = i - 1
            while j >= 0 and words[j] in lx.EXAM_MODIFIERS:
                found.add(j)
                j -= 1
        elif word == "lateral" and i >= 2 and words[i - 1] == "and" and words[i - 2] in lx.PROJECTIONS:
            found.add(i)
        elif word in lx.COMMUNICATION_VERBS:
            j = i - 1
            while j >= 0 and words[j] in lx.REPORT_VERB_GAP:
                j -= 1
            if 0 <= j < i - 1 and words[j] in lx.REPORT_WORDS:
                found.add(j)
            continue
        else:
            continue
        j = i + 1  # after a view: its region
        while j < n and words[j] in lx.EXAM_REGION_GAP:
            j += 1
        if i + 1 < j < n and words[j] in lx.EXAM_REGIONS:
            found.add(j)
    return found


def find_entities(state: TextState) -> None:
    words, entities = state.words, []
    word_class, phrases = WORD_CLASS, ENTITY_PHRASES
    exam = () if _EXAM_CUES.isdisjoint(words) else exam_words(words)
    skip_to = 0
    for i, word in enumerate(words):
        if word is None or i < skip_to or i in exam:
            continue
        if word in phrases:
            length, kind = _match(phrases, words, i)
            if kind is not None:
                entities.append(Entity(i, i + length, kind))
                skip_to = i + length
                continue
        kind = word_class.get(word)
        if kind is not None:
            if kind == POSITION and word in lx.POSITION_PREDICATES and i and words[i - 1] in lx.COPULAS:
                kind = DESCRIPTOR  # "the trachea is midline": a finding about the trachea, not anatomy
            elif word in lx.LEVEL_WORDS and i + 1 < len(words) and words[i + 1] in lx.LEVELLED_ANATOMY:
                kind = POSITION  # "in the low SVC"
            entities.append(Entity(i, i + 1, kind))
    state.entities = entities


# --- 3. assertion -----------------------------------------------------------------------------------------------
def _match(index: dict, words: list[str | None], i: int):
    for phrase, payload in index.get(words[i], ()):
        m = len(phrase)
        if tuple(words[i:i + m]) == phrase:
            return m, payload
    return 0, None


def assign_assertion(state: TextState) -> None:
    words, entities = state.words, state.entities
    if CUE_WORDS.isdisjoint(words):  # most reports: nothing is negated or hedged
        return
    observation_at = {e.start: e for e in entities if not e.is_anatomy}
    for s, e in state.sentences:
        if CUE_WORDS.isdisjoint(words[s:e]):  # no cue: a sentence's statuses stay as they are
            continue
        mode, reach, seen = None, 0, False
        clause_start = comma_start = s
        i = s
        while i < e:
            word = words[i]
            if word is None:
                pass
            elif word in lx.TERMINATORS or word in lx.SENTENCE_END:
                mode, clause_start, comma_start = None, i + 1, i + 1
                i += 1
                continue
            elif word == ",":
                comma_start = i + 1
                nxt = words[i + 1] if i + 1 < e else None
                if mode == "DA" and nxt in lx.NEGATION_RESTART:
                    mode = None
                i += 1
                continue
            else:
                length, cue = _match(CUES, words, i) if word in CUES else (0, None)
                if cue is not None:
                    i = _apply_cue(state, cue, word, i, length, e, observation_at,
                                   clause_start if cue.kind == "neg" or cue.clause else comma_start)
                    if i < 0:  # the cue applied backwards or to a pseudo-negation only
                        i = -i
                        continue
                    if not (cue.kind == "hedge" and mode == "DA" and cue.weak):
                        mode = "DA" if cue.kind == "neg" else "U"
                        reach, seen = i + MAX_FORWARD_SCOPE, False
                    continue
                if mode is not None and seen and word in lx.VERB_TERMINATORS and \
                        words[i - 1] not in lx.ATTRIBUTIVE_LEADS:
                    mode = None
            if mode is not None:
                if i >= reach:
                    mode = None
                else:
                    entity = observation_at.get(i)
                    if entity is not None:
                        if not (mode == "DA" and entity.status == "U"):
                            entity.status = mode
                        seen = True
            i += 1


def _apply_cue(state: TextState, cue: Cue, word: str, i: int, length: int, end: int,
               observation_at: dict[int, Entity], back_start: int) -> int:
    """Apply a cue at tokens ``[i, i+length)``. Returns the index after the cue, negated when the cue is already
    fully applied (pseudo-negation, or a two-way cue with nothing after it), else positive to open a forward scope."""
    words = state.words
    after = i + length
    if cue.kind == "neg" and word in lx.PSEUDO_NEGATION_CUES:
        # "no (interval/significant) change": negates the change only.
        j = after
        while j < end and words[j] in lx.PSEUDO_NEGATION_FILLERS:
            j += 1
        if j < end and words[j] in lx.PSEUDO_NEGATION_TAILS:
            for k in range(after, j + 1):
                entity = observation_at.get(k)
                if entity is not None:
                    entity.status, entity.pinned = "DA", True
            return -(j + 1)
    if cue.two_way and word not in lx.CHANGE_NEGATIONS and \
            any(w in lx.PRIOR_STUDY_WORDS for w in words[after:min(end, after + LOOKAHEAD)]):
        return -after  # "not seen on prior exams": about the earlier study, not this finding
    if cue.clause:
        for k in range(max(back_start, i - MAX_BACKWARD_SCOPE), i):
            entity = observation_at.get(k)
            if entity is not None:
                entity.status = "U"
        return after
    if cue.alternative:
        # back over the phrase before "versus" (to a comma, "and", or the clause start), then forward
        k = i - 1
        while k >= max(back_start, i - MAX_BACKWARD_SCOPE) and words[k] not in lx.ALTERNATIVE_BACK_STOPS:
            entity = observation_at.get(k)
            if entity is not None:
                entity.status = "U"
            k -= 1
        return after
    if cue.two_way:
        ahead = False
        for j in range(after, min(end, after + LOOKAHEAD)):
            w = words[j]
            if j in observation_at:
                ahead = True
                break
            if w in lx.TERMINATORS or w in lx.SENTENCE_END or w == "," or w in lx.VERB_TERMINATORS or \
                    (w == "in" and words[j + 1:j + 3] == lx.THE_INTERVAL):  # "has cleared in the interval"
                break
        if not ahead:
            status = "DA" if cue.kind == "neg" else "U"
            for k in range(max(back_start, i - MAX_BACKWARD_SCOPE), i):
                entity = observation_at.get(k)
                if entity is not None and not (status == "DA" and entity.status == "U"):
                    entity.status = status
            return -after
    return after


# --- 4. relations -----------------------------------------------------------------------------------------------
class Chunk:
    """Entities that touch (or anatomy joined by and/or/commas), with the roles the relation rules need:
    ``members`` (entity indices), token span ``[start, end)``, ``sentence``, ``anatomy_heads``, ``head`` (the
    finding, or without one the last descriptor, the chunk is about), ``has_finding``, ``located`` (head already
    has a location), ``tip`` ("tube tip": the tip, not the tube, takes the location after the chunk)."""

    __slots__ = ("members", "start", "end", "sentence", "anatomy_heads", "head", "has_finding", "located", "tip",
                 "subject_heads")

    def __init__(self, members: list[int], start: int, end: int, sentence: int) -> None:
        self.members, self.start, self.end, self.sentence = members, start, end, sentence
        self.anatomy_heads: list[int] = []
        self.head: int | None = None
        self.has_finding = self.located = False
        self.tip: int | None = None
        self.subject_heads: list[int] = []  # anatomy it was located at only as its clause's subject


def _chunks(state: TextState) -> list[Chunk]:
    words, entities = state.words, state.entities
    sentence_of = state.sentence_of
    groups: list[list[int]] = []
    group: list[int] = []
    prev: Entity | None = None  # the last entity of ``group``
    all_anatomy = False  # whether every entity of ``group`` is anatomy
    no_finding = False  # whether ``group`` has no finding yet ("small left and right pleural effusions")
    for idx, entity in enumerate(entities):
        if prev is not None and sentence_of[prev.start] == sentence_of[entity.start] and (
                prev.end == entity.start or (  # entities never overlap: equal ends and starts mean they touch
                    (all_anatomy and entity.is_anatomy or  # "cardiac and mediastinal silhouettes"
                     no_finding and prev.kind == POSITION and entity.kind == POSITION)  # "small left and right"
                    and tuple(words[prev.end:entity.start]) in lx.ANAT_COORDINATORS) or (
                    # "left greater than right pleural effusions": both sides are the effusions' anatomy
                    entity.is_anatomy and words[prev.end:entity.start] == lx.COMPARATIVE_JOIN
                    and words[prev.start] in lx.COMPARATIVES and len(group) > 1
                    and entities[group[-2]].is_anatomy)):
            group.append(idx)
            all_anatomy = all_anatomy and entity.is_anatomy
            no_finding = no_finding and entity.kind != FINDING
        else:
            group = [idx]
            groups.append(group)
            all_anatomy = entity.is_anatomy
            no_finding = entity.kind != FINDING
        prev = entity
    chunks = []
    for members in groups:
        first = entities[members[0]]
        if len(members) == 1:  # most chunks: one word, no internal relations
            chunk = Chunk(members, first.start, first.end, sentence_of[first.start])
            if first.is_anatomy:
                chunk.anatomy_heads.append(members[0])
            else:
                chunk.head, chunk.has_finding = members[0], first.kind == FINDING
        else:
            chunk = Chunk(members, first.start, entities[members[-1]].end, sentence_of[first.start])
            _analyse_chunk(state, chunk)
        chunks.append(chunk)
    return chunks




def _analyse_chunk(state: TextState, chunk: Chunk) -> None:
    entities, edges, words = state.entities, state.edges, state.words
    anatomy: list[int] = []
    observations: list[int] = []
    for m in chunk.members:
        (anatomy if entities[m].is_anatomy else observations).append(m)
    # Anatomy, conjunct by conjunct ("cardiac and mediastinal silhouettes"): the organ is the head, positions
    # and parts modify it; with no organ the last part (or position) is the head.
    conjunct: list[int] = []
    conjuncts: list[list[int]] = []
    last = len(anatomy) - 1
    for k, m in enumerate(anatomy):
        conjunct.append(m)
        if k < last:
            end, next_start = entities[m].end, entities[anatomy[k + 1]].start
            if next_start == end or lx.CONJUNCT_BREAK.isdisjoint(words[end:next_start]):
                continue
        chunk.anatomy_heads.extend(_anatomy_conjunct(entities, edges, conjunct))
        conjuncts.append(conjunct)
        conjunct = []
    if len(conjuncts) > 1:
        _distribute_conjuncts(entities, words, edges, conjuncts, chunk.anatomy_heads)
    findings: list[int] = []
    first_tip = None
    for m in observations:
        entity = entities[m]
        if entity.kind == FINDING:
            findings.append(m)
        if first_tip is None and words[entity.start] in lx.TIP_WORDS:
            first_tip = m
    if findings:
        chunk.head, chunk.has_finding = findings[-1], True
        for m in observations:
            if m != chunk.head:
                edges.add((m, chunk.head, "modify"))
        if first_tip is not None and entities[findings[-1]].start < entities[first_tip].start:
            chunk.tip = first_tip
    elif observations:
        chunk.head = observations[-1]
        for m in observations[:-1]:
            edges.add((m, chunk.head, "modify"))
    if chunk.head is not None and chunk.anatomy_heads:
        # "right PICC line tip": the line is at the right; the tip's own location comes after it.
        for a in chunk.anatomy_heads:
            edges.add((chunk.head, a, "located_at"))
        chunk.located = chunk.tip is None


def _distribute_conjuncts(entities: list[Entity], words: list[str | None], edges: set, conjuncts: list[list[int]],
                          heads: list[int]) -> None:
    """Coordination distributes the head that the last conjunct shares: in "mediastinal and hilar contours" and
    "left and right lung bases", the bare first conjunct (an adjectival organ word or a position) modifies the last
    conjunct's head, as the words of that conjunct do, and stops being a head of its own. "The heart and lungs"
    (the last conjunct one word, or a noun before it) stay two heads."""
    final = conjuncts[-1]
    final_head = next((h for h in heads if h in final), None)
    if final_head is None or entities[final_head].kind == POSITION or (
            len(final) == 1 and entities[final_head].kind != PART):
        return
    for conj in conjuncts[:-1]:
        if len(conj) != 1:
            continue
        entity = entities[conj[0]]
        if entity.kind == POSITION or (entity.kind == ORGAN and words[entity.start].endswith(lx.ADJECTIVE_SUFFIXES)):
            edges.add((conj[0], final_head, "modify"))
            heads.remove(conj[0])


def _anatomy_conjunct(entities: list[Entity], edges: set, members: list[int]) -> list[int]:
    """One anatomy phrase: its last organ or part word is the head ("right lung base": *base*; "cardiac
    silhouette": *silhouette*; "left lower lobe": *lobe*), every other word modifies it; a phrase of positions only
    ("left and right") is headed by its last word."""
    head = members[-1]
    for m in reversed(members):
        if entities[m].kind != POSITION:
            head = m
            break
    for m in members:
        if m != head:
            edges.add((m, head, "modify"))
    return [head]


class Walk:
    """The relation rules' view of the chunk walk: the ``chunk`` at position ``k`` of ``chunks``, its neighbours
    in the same sentence (``prev``, ``nxt``, else ``None``), the words between ``prev`` and it (``gap_before``), and
    the clause's ``subject`` (the anatomy chunk a clause is about: "lungs are clear without consolidation").

    :meth:`move` and :meth:`leave` keep the clause bookkeeping: a sentence start or a terminator (``;``, ``but``,
    ...) before the chunk ends the subject; so does a comma or semicolon before it, once the chunk is done, unless
    the subject is the chunk just before (``lungs are clear, without effusion``)."""

    __slots__ = ("state", "words", "entities", "edges", "chunks", "k", "chunk", "prev", "nxt", "gap_before",
                 "subject")

    def __init__(self, state: TextState, chunks: list[Chunk]) -> None:
        self.state, self.words, self.entities, self.edges = state, state.words, state.entities, state.edges
        self.chunks = chunks
        self.subject: Chunk | None = None

    def move(self, k: int) -> None:
        chunks, chunk = self.chunks, self.chunks[k]
        self.k, self.chunk = k, chunk
        prev = chunks[k - 1] if k and chunks[k - 1].sentence == chunk.sentence else None
        self.nxt = chunks[k + 1] if k + 1 < len(chunks) and chunks[k + 1].sentence == chunk.sentence else None
        self.prev = prev
        if prev is None:
            self.subject, self.gap_before = None, []
        else:
            self.gap_before = self.words[prev.end:chunk.start]
            if not lx.TERMINATORS.isdisjoint(self.gap_before):
                self.subject = None

    def leave(self) -> None:
        if "," in self.gap_before or ";" in self.gap_before:
            if self.subject is not self.prev:
                self.subject = None


def _located_entity(chunk: Chunk) -> int | None:
    """What a location after ``chunk`` belongs to: its tip ("tube tip in the SVC"), else its head."""
    return chunk.tip if chunk.tip is not None else chunk.head


def predicate(walk: Walk) -> None:
    """``<anatomy> is/are <observation>`` ("lungs are clear", "heart size is within normal limits"): the
    observation is located_at the subject's anatomy heads, and at every anatomy of a comma list before it
    ("cardiac size, mediastinal contour, and pulmonary vascularity are normal"; not past anatomy that already
    locates a finding); the chunk becomes the clause's subject. A trailing position ("lungs are clear
    bilaterally") modifies the subject instead of locating the observation. ``<finding> is <descriptor>``
    ("effusion is small"): the descriptor modifies the finding.

    Fires when the chunk has a head, no anatomy of its own (or only trailing positions), and the words before it
    are 1-5 predicate-gap words (:data:`lexicon.PREDICATE_GAP`) with a copula or *within* among them."""
    chunk, prev, gap = walk.chunk, walk.prev, walk.gap_before
    if prev is None or chunk.head is None or not 0 < len(gap) <= MAX_PREDICATE_GAP or \
            not lx.PREDICATE_GAP.issuperset(gap) or lx.COPULA_OR_WITHIN.isdisjoint(gap):
        return
    entities, edges = walk.entities, walk.edges
    trailing = bool(chunk.anatomy_heads) and all(
        entities[m].kind == POSITION and entities[m].start > entities[chunk.head].start
        for m in chunk.members if entities[m].is_anatomy)
    if chunk.anatomy_heads and not trailing:
        return
    if prev.head is None and prev.anatomy_heads:
        for position in chunk.anatomy_heads if trailing else ():
            edges.discard((chunk.head, position, "located_at"))
            for a in prev.anatomy_heads:
                edges.add((position, a, "modify"))
        for a in prev.anatomy_heads:
            edges.add((chunk.head, a, "located_at"))
        chunks, words, k = walk.chunks, walk.words, walk.k
        j, locations = k - 2, None
        while j >= max(0, k - 2 - MAX_ANATOMY_LIST) and chunks[j].sentence == chunk.sentence and \
                chunks[j].head is None and chunks[j].anatomy_heads and \
                words[chunks[j].end:chunks[j + 1].start] == lx.COMMA_GAP:
            if locations is None:
                locations = {t for _, t, r in edges if r == "located_at"}
            if not locations.isdisjoint(chunks[j].anatomy_heads):
                break
            for a in chunks[j].anatomy_heads:
                edges.add((chunk.head, a, "located_at"))
            j -= 1
        chunk.located = True
        walk.subject = prev
    elif prev.head is not None and not chunk.has_finding:
        edges.add((chunk.head, prev.head, "modify"))
        chunk.located = True  # its location is its finding's


def descriptor_after_comma(walk: Walk) -> None:
    """``<observation>, <descriptor>`` ("moderate edema, slightly improved", "small effusion, unchanged"): a
    descriptor chunk with no finding and no anatomy right after a comma modifies the observation before it."""
    chunk, prev = walk.chunk, walk.prev
    if prev is not None and prev.head is not None and chunk.head is not None and not chunk.has_finding \
            and not chunk.anatomy_heads and walk.gap_before == lx.COMMA_GAP:
        walk.edges.add((chunk.head, prev.head, "modify"))
        chunk.located = True


def coordinated_descriptor(walk: Walk) -> None:
    """``<descriptor> and/or <descriptor> <finding>`` ("monitoring and support devices", "mild or moderate edema")
    and ``<descriptor>, if any, <finding>``: a descriptor chunk with no finding and no anatomy modifies the finding
    of the next chunk, when the next chunk starts with a descriptor or only a hedge aside lies between (the words
    between: :data:`lexicon.DESCRIPTOR_COORDINATION`, 1-4 of them)."""
    chunk, nxt, words = walk.chunk, walk.nxt, walk.words
    if chunk.head is None or chunk.has_finding or chunk.anatomy_heads or nxt is None or not nxt.has_finding or \
            not 0 < nxt.start - chunk.end <= 4:
        return
    gap = words[chunk.end:nxt.start]
    if not lx.DESCRIPTOR_COORDINATION.issuperset(gap):
        return
    first = walk.entities[nxt.members[0]]
    if first.kind == DESCRIPTOR or not lx.HEDGE_ASIDE_WORDS.isdisjoint(gap):
        walk.edges.add((chunk.head, nxt.head, "modify"))
        chunk.located = True


def descriptor_of_finding(walk: Walk) -> None:
    """``<descriptor> of/in <finding>`` ("position of the PICC line", "improvement in pneumothorax", "areas of
    atelectasis"): a descriptor chunk whose head is one of :data:`lexicon.OF_MODIFIERS`, followed within 3 words
    of :data:`lexicon.OF_GAP` by a chunk with a finding, modifies that finding."""
    chunk, nxt, words = walk.chunk, walk.nxt, walk.words
    if chunk.head is not None and not chunk.has_finding and not chunk.anatomy_heads and nxt is not None and \
            words[walk.entities[chunk.head].start] in lx.OF_MODIFIERS and \
            nxt.has_finding and 0 < nxt.start - chunk.end <= 3 and lx.OF_GAP.issuperset(words[chunk.end:nxt.start]):
        walk.edges.add((chunk.head, nxt.head, "modify"))
        chunk.located = True


def location_after(walk: Walk) -> None:
    """``<observation> in/at <anatomy>`` ("opacity in the right lower lobe", "tip 4 cm above the carina", also
    after anatomy of its own: "airspace disease in the right middle lobe"): the chunk's tip or head is
    located_at the anatomy heads of the next chunk, when that chunk is anatomy only and at most 6 location-gap
    words (:data:`lexicon.LOCATION_GAP`) or numbers lie between. A bare finding joined to this one by *and*/*or*
    shares the location (:func:`_share_location`)."""
    chunk, nxt = walk.chunk, walk.nxt
    located = _located_entity(chunk)
    if located is None or (chunk.located and not chunk.anatomy_heads) or nxt is None or nxt.head is not None or \
            not nxt.anatomy_heads or nxt.start - chunk.end > MAX_LOCATION_GAP:
        return
    words, numeric = walk.words, walk.state.numeric
    if all(words[j] in lx.LOCATION_GAP or numeric[j] for j in range(chunk.end, nxt.start)):
        for a in nxt.anatomy_heads:
            walk.edges.add((located, a, "located_at"))
        chunk.located = True
        if chunk.has_finding and walk.prev is not None:
            _share_location(words, walk.edges, walk.prev, chunk, nxt)


def part_of_anatomy(walk: Walk) -> None:
    """``<part> of <anatomy>`` ("the region of the right atrium", "the apex of the left lung"): an anatomy chunk
    whose heads are all parts modifies the anatomy heads of the next chunk, 1-2 words of :data:`lexicon.OF_GAP`
    away, starting with *of*."""
    chunk, nxt, words = walk.chunk, walk.nxt, walk.words
    if chunk.head is None and chunk.anatomy_heads and nxt is not None and nxt.head is None and \
            nxt.anatomy_heads and 0 < nxt.start - chunk.end <= 2 and words[chunk.end] == "of" and \
            lx.OF_GAP.issuperset(words[chunk.end:nxt.start]) and \
            all(walk.entities[h].kind == PART for h in chunk.anatomy_heads):
        for h in chunk.anatomy_heads:
            for a in nxt.anatomy_heads:
                walk.edges.add((h, a, "modify"))


def clause_subject(walk: Walk) -> None:
    """A later observation of a clause with no location of its own ("lungs are clear without consolidation"):
    located_at the anatomy heads of the clause's subject (set by :func:`predicate`), unless the subject is the
    chunk just before it."""
    chunk, subject = walk.chunk, walk.subject
    located = _located_entity(chunk)
    if located is not None and not chunk.located and subject is not None and subject is not walk.prev:
        for a in subject.anatomy_heads:
            walk.edges.add((located, a, "located_at"))
        chunk.located = True
        chunk.subject_heads = subject.anatomy_heads


# The walk's rules, in the order they run on each chunk: each may set ``chunk.located``, which the later ones read,
# and :func:`predicate` sets the clause subject that :func:`clause_subject` reads.
CHUNK_RULES: tuple[Callable[[Walk], None], ...] = (
    predicate, descriptor_after_comma, coordinated_descriptor, descriptor_of_finding, location_after, part_of_anatomy,
    clause_subject)


def find_relations(state: TextState, rules: Sequence[Callable[[Walk], None]] = CHUNK_RULES,
                   suggestive: bool = True) -> None:
    """All relations of a text: the chunk-internal ones (:func:`_chunks`), then each of ``rules`` on each chunk
    left to right, then suggestive_of (:func:`suggestive_of`, :func:`anaphoric_suggestive`, :func:`differential`);
    then descriptors take the assertion
    of what they modify (:func:`_propagate_assertion`). ``rules`` and ``suggestive`` exist so that a test can run
    one rule alone."""
    chunks = _chunks(state)
    walk = Walk(state, chunks)
    for k in range(len(chunks)):
        walk.move(k)
        for rule in rules:
            rule(walk)
        walk.leave()
    if suggestive:
        suggestive_of(state, chunks)
        anaphoric_suggestive(state, chunks)
        differential(state, chunks)
    _propagate_assertion(state.entities, state.edges)




def _share_location(words: list[str | None], edges: set, prev: Chunk, chunk: Chunk, nxt: Chunk) -> None:
    """"tortuosity and atherosclerosis of the aorta", "atelectasis or consolidation in the left lower lobe": a
    bare finding joined by *and*/*or* to the located one is at the same anatomy (instead of its clause's subject)."""
    if not prev.has_finding or prev.anatomy_heads or prev.tip is not None or \
            words[prev.end:chunk.start] not in lx.COORDINATION_GAPS or (prev.located and not prev.subject_heads) or \
            (prev.start and words[prev.start - 1] == ","):  # the tail of a list: "no effusion, X or Y in ..."
        return
    for a in prev.subject_heads:
        edges.discard((prev.head, a, "located_at"))
    prev.subject_heads = []
    for a in nxt.anatomy_heads:
        edges.add((prev.head, a, "located_at"))
    prev.located = True


def suggestive_of(state: TextState, chunks: list[Chunk]) -> None:
    """``X <cue> Y`` in one sentence (cues: :data:`lexicon.SUGGESTIVE_CUES`): X, the last observation chunk ending
    before the cue, is suggestive_of Y, the first chunk with a finding at most 6 words after it, and of each finding
    chunk that continues Y's list (joined by *or*, *and*, commas, *versus*: :data:`lexicon.SUGGESTIVE_LIST_GAP`)."""
    words, edges = state.words, state.edges
    if SUGGESTIVE_WORDS.isdisjoint(words):
        return
    by_sentence: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        if chunk.head is not None:
            by_sentence.setdefault(chunk.sentence, []).append(chunk)
    for sentence, observed in by_sentence.items():
        if len(observed) < 2:
            continue
        s, e = state.sentences[sentence]
        if SUGGESTIVE_WORDS.isdisjoint(words[s:e]):
            continue
        i, first_after = s, 0  # observed[first_after] is the first chunk starting at or after i
        while i < e:
            length, hit = _match(SUGGESTIVE, words, i) if words[i] in SUGGESTIVE else (0, None)
            if not hit:
                i += 1
                continue
            while first_after < len(observed) and observed[first_after].start < i:
                first_after += 1
            before = observed[first_after - 1] if first_after and observed[first_after - 1].end <= i else None
            after = [c for c in observed[first_after:first_after + 8] if c.start >= i + length and c.has_finding]
            if before is not None and after and after[0].start - (i + length) <= MAX_SUGGESTIVE_GAP:
                for c in _target_list(words, after):
                    if c.head != before.head:
                        edges.add((before.head, c.head, "suggestive_of"))
            i += length


def _target_list(words: list[str | None], after: list[Chunk]) -> list[Chunk]:
    """The first finding chunk after a cue and those that continue its list ("atelectasis or pneumonia")."""
    targets = [after[0]]
    for c in after[1:]:
        gap = words[targets[-1].end:c.start]
        if gap and len(gap) <= 2 and lx.SUGGESTIVE_LIST_GAP.issuperset(gap):
            targets.append(c)
        else:
            break
    return targets


def anaphoric_suggestive(state: TextState, chunks: list[Chunk]) -> None:
    """``X. This <cue> Y`` ("left basilar opacity. This likely represents atelectasis"): a sentence that opens with
    only anaphora before its cue (:data:`lexicon.ANAPHORA_WORDS`: *this*, *these*, *it*, ...) points back to the
    last finding of the sentence before it (not across a blank line or section start), which is suggestive_of the
    findings after the cue."""
    words, edges = state.words, state.edges
    if SUGGESTIVE_WORDS.isdisjoint(words) or lx.ANAPHORA_START.isdisjoint(words):
        return
    for k in range(1, len(state.sentences)):
        s, e = state.sentences[k]
        if s in state.breaks or words[s] not in lx.ANAPHORA_START:
            continue
        i, hit, length = s, None, 0
        while i < e:
            length, hit = _match(SUGGESTIVE, words, i) if words[i] in SUGGESTIVE else (0, None)
            if hit or words[i] not in lx.ANAPHORA_WORDS:
                break
            i += 1
        if not hit:
            continue
        earlier = [c for c in chunks if c.sentence == k - 1 and c.has_finding]
        after = [c for c in chunks if c.sentence == k and c.start >= i + length and c.has_finding]
        if earlier and after and after[0].start - (i + length) <= MAX_SUGGESTIVE_GAP:
            for c in _target_list(words, after):
                edges.add((earlier[-1].head, c.head, "suggestive_of"))


_ALTERNATIVE_WORDS = frozenset(w for phrase in lx.ALTERNATIVE_CUES for w in phrase)


def differential(state: TextState, chunks: list[Chunk]) -> None:
    """``X, A versus B`` ("right basilar opacity, atelectasis versus pneumonia"): an observation chunk, then a
    comma and two findings joined by an alternative cue (:data:`lexicon.ALTERNATIVE_CUES`): X is suggestive_of
    both A and B."""
    words = state.words
    if _ALTERNATIVE_WORDS.isdisjoint(words):
        return
    for k in range(1, len(chunks) - 1):
        x, a, b = chunks[k - 1], chunks[k], chunks[k + 1]
        if not (x.sentence == a.sentence == b.sentence and a.has_finding and b.has_finding and x.head is not None
                and words[x.end:a.start] == lx.COMMA_GAP and tuple(words[a.end:b.start]) in lx.ALTERNATIVE_CUES):
            continue
        for target in (a, b):
            if target.head != x.head:
                state.edges.add((x.head, target.head, "suggestive_of"))


def _propagate_assertion(entities: list[Entity], edges: set) -> None:
    """Descriptors share the assertion of the observation they modify (chains: slightly → increased → X)."""
    modifies = {h: t for h, t, r in edges if r == "modify" and not entities[h].is_anatomy}
    for head in modifies:
        if entities[head].pinned:
            continue
        seen, tail = {head}, modifies[head]
        while tail in modifies and tail not in seen:
            seen.add(tail)
            tail = modifies[tail]
        entities[head].status = entities[tail].status
