"""CheXpert-style labels (``igcl.labels.CHEXPERT_OBSERVATIONS``) derived from a report graph.

Each observation node (OBS-*) is mapped to CheXpert observations by its text and the anatomy it is located_at
(tables in :mod:`igcl.reports.lexicon`): *effusion* → Pleural Effusion (unless at pericardial anatomy), *thickening*
at *pleural* → Pleural Other, *enlarged* at *heart*/*cardiac* → Cardiomegaly, at *mediastinal* → Enlarged
Cardiomediastinum, *normal*/*unremarkable* at those → a negative mention of the same observation, *tube*/*line*/
*catheter* → Support Devices (a *line* at *pleural* is the pleural line of a pneumothorax, not a device),
*prominence*/*engorgement*/*indistinct* at the pulmonary vessels and *failure* at *heart* → Edema, and so on. A
mention's value follows its label: OBS-DP 1, OBS-U -1, OBS-DA 0.

Within a report, as the CheXpert labeler aggregates, positive wins over uncertain, uncertain over negative; an
observation never mentioned is ``None``.

No Finding (CheXpert's rule): 1 when no pathology other than Support Devices is positive or uncertain, else
``None`` (CheXpert leaves it blank then; it is never 0). A graph with no nodes (an empty report) is evidence of
nothing, so every label, No Finding included, is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from igcl.labels import CHEXPERT_OBSERVATIONS, NEGATIVE, POSITIVE, UNCERTAIN
from igcl.reports import lexicon as lx
from igcl.reports.graph import ANAT_LABEL, ReportGraph

_VALUE = {"OBS-DP": POSITIVE, "OBS-U": UNCERTAIN, "OBS-DA": NEGATIVE}
_RANK = {POSITIVE: 2, UNCERTAIN: 1, NEGATIVE: 0}
_NOT_PATHOLOGY = frozenset({"No Finding", "Support Devices"})
_ANY: frozenset[str] = frozenset()  # an empty condition: no constraint


@dataclass(frozen=True)
class LabelRule:
    """One row of the label table: a mention whose word is in ``words`` names ``observation``, when

    - ``anatomy``: it is located_at one of these (empty: anywhere, or nowhere);
    - ``not_anatomy``: it is located_at none of these;
    - ``modifiers``: one of these modifies it;
    - ``labels``: its label is one of these.

    ``observation`` ``None`` makes the row a veto: the mention names nothing at all (``old infection``).
    ``value`` ``None`` gives the mention's own value (OBS-DP 1, OBS-U -1, OBS-DA 0), else that value.
    """

    name: str
    words: frozenset[str]
    observation: str | None
    anatomy: frozenset[str] = _ANY
    not_anatomy: frozenset[str] = _ANY
    modifiers: frozenset[str] = _ANY
    labels: frozenset[str] = frozenset(_VALUE)
    value: float | None = None

    def applies(self, label: str, anatomy: AbstractSet[str], modifiers: AbstractSet[str]) -> bool:
        return (label in self.labels
                and (not self.anatomy or not anatomy.isdisjoint(self.anatomy))
                and anatomy.isdisjoint(self.not_anatomy)
                and (not self.modifiers or not modifiers.isdisjoint(self.modifiers)))


_R = LabelRule
_PRESENT = frozenset({"OBS-DP"})
# The label table, in order: vetoes first (a veto that applies makes the mention name nothing), then every row
# that applies adds its observation. Word sets are the lexicon's.
LABEL_RULES: tuple[LabelRule, ...] = (
    _R("old infection is no pneumonia", lx.INFECTION_WORDS, None, modifiers=lx.OLD_INFECTION_MODIFIERS),
    _R("pleural or septal line is a sign", lx.LINE_WORDS, None, anatomy=lx.LINE_SIGN_ANATOMY),
    _R("device fracture is no bone fracture", lx.FRACTURE_WORDS, None, modifiers=lx.DEVICE_FORMS),
    _R("non-pulmonary edema", lx.EDEMA_WORDS, None, anatomy=lx.NONPULMONARY_EDEMA_ANATOMY),
    *(_R(f"{name} by word", words, name) for name, words in lx.OBSERVATION_WORDS.items()),
    _R("vascular congestion", lx.VASCULAR_CONGESTION_WORDS, "Edema", anatomy=lx.VASCULAR_ANATOMY),
    _R("engorged lung vessels", lx.VESSEL_ONLY_CONGESTION_WORDS, "Edema", anatomy=lx.LUNG_ANATOMY_FOR_VESSELS),
    _R("device tip", lx.TIP_WORDS, "Support Devices", anatomy=lx.DEVICE_TIP_ANATOMY),
    _R("heart failure", lx.HEART_FAILURE_WORDS, "Edema", anatomy=lx.HEART_ANATOMY),
    _R("congestive failure", lx.HEART_FAILURE_WORDS, "Edema", modifiers=lx.HEART_FAILURE_MODIFIERS),
    _R("pleural effusion", lx.EFFUSION_WORDS, "Pleural Effusion", not_anatomy=lx.NONPLEURAL_EFFUSION_ANATOMY),
    _R("pleural other", lx.PLEURAL_OTHER_WORDS, "Pleural Other", anatomy=lx.PLEURAL_ANATOMY),
    _R("pleural fluid", lx.PLEURAL_EFFUSION_AT_PLEURA_WORDS, "Pleural Effusion", anatomy=lx.PLEURAL_ANATOMY),
    _R("pleural fluid collection", lx.COLLECTION_WORDS, "Pleural Effusion", anatomy=lx.PLEURAL_ANATOMY,
       modifiers=lx.PLEURAL_EFFUSION_AT_PLEURA_WORDS),
    _R("pleural air", lx.PNEUMOTHORAX_AT_PLEURA_WORDS, "Pneumothorax", anatomy=lx.PLEURAL_ANATOMY),
    _R("pleural air collection", lx.COLLECTION_WORDS, "Pneumothorax", anatomy=lx.PLEURAL_ANATOMY,
       modifiers=lx.PNEUMOTHORAX_AT_PLEURA_WORDS),
    _R("lung scar", lx.LUNG_OPACITY_SCAR_WORDS, "Lung Opacity", not_anatomy=lx.PLEURAL_ANATOMY),
    _R("airspace disease", lx.AIRSPACE_DISEASE_WORDS, "Lung Opacity", anatomy=lx.AIRSPACE_ANATOMY),
    _R("interstitial pattern", lx.INTERSTITIAL_PATTERN_WORDS, "Lung Opacity", anatomy=lx.INTERSTITIAL_ANATOMY),
    _R("prosthetic valve", lx.PROSTHETIC_WORDS, "Support Devices", anatomy=lx.VALVE_ANATOMY),
    _R("enlarged heart", lx.ENLARGED_WORDS, "Cardiomegaly", anatomy=lx.HEART_ANATOMY),
    _R("normal heart", lx.NORMAL_WORDS, "Cardiomegaly", anatomy=lx.HEART_ANATOMY, labels=_PRESENT,
       value=NEGATIVE),
    _R("enlarged mediastinum", lx.ENLARGED_WORDS, "Enlarged Cardiomediastinum", anatomy=lx.MEDIASTINUM_ANATOMY),
    _R("normal mediastinum", lx.NORMAL_WORDS, "Enlarged Cardiomediastinum", anatomy=lx.MEDIASTINUM_ANATOMY,
       labels=_PRESENT, value=NEGATIVE),
)


def _rule_index(rules: Sequence[LabelRule]) -> dict[str, tuple[LabelRule, ...]]:
    """word → the rows that name it, in table order (so a word's vetoes come before its observations)."""
    index: dict[str, list[LabelRule]] = {}
    for rule in rules:
        for word in rule.words:
            index.setdefault(word, []).append(rule)
    return {word: tuple(rows) for word, rows in index.items()}


# Derived from the table, never kept by hand: a word outside it maps to nothing, so its anatomy and modifiers need
# not be looked at (most observation nodes are such words: "clear", "stable", ...).
RULES_BY_WORD: dict[str, tuple[LabelRule, ...]] = _rule_index(LABEL_RULES)
_MAPPED_WORDS = frozenset(RULES_BY_WORD)


def mention_observations(word: str, label: str, anatomy: AbstractSet[str],
                         modifiers: AbstractSet[str]) -> list[tuple[str, float]]:
    """``(observation, value)`` for an observation node: ``word`` its text lower-cased with spaces collapsed,
    ``label`` its OBS-* label, ``anatomy`` the lower-cased texts of the nodes it is located_at and of the anatomy
    nodes that modify those ("soft tissue": *soft* → *tissue*), ``modifiers`` those of the nodes that modify it; ``[]`` for an unmapped observation. The rows of :data:`LABEL_RULES` that name
    ``word`` are applied in order; an OBS-DP mention that *normal* modifies is negative ("pulmonary vascular
    engorgement appears within limits of normal")."""
    value = _VALUE[label]
    if label == "OBS-DP" and not modifiers.isdisjoint(lx.NORMAL_WORDS):
        value = NEGATIVE
    found = []
    for rule in RULES_BY_WORD.get(word, ()):
        if rule.applies(label, anatomy, modifiers):
            if rule.observation is None:
                return []
            found.append((rule.observation, value if rule.value is None else rule.value))
    return found


@lru_cache(maxsize=1 << 16)
def _mapped_word(text: str) -> str | None:
    """``text`` lower-cased with runs of whitespace made one space, if some rule maps that word; else ``None``."""
    word = " ".join(text.lower().split())
    return word if word in _MAPPED_WORDS else None


@lru_cache(maxsize=1 << 12)
def _mentions_alone(word: str, label: str) -> tuple[tuple[str, float], ...]:
    """``mention_observations`` of a node with no anatomy and no modifiers (most mentions)."""
    return tuple(mention_observations(word, label, _NONE, _NONE))


def observation_labels(texts: Sequence[str], labels: Sequence[str],
                       edges: Iterable[tuple[int, int, str]]) -> dict[str, float | None]:
    """The 14 CheXpert observations for one report graph given as node texts, node labels and ``(src, dst,
    relation)`` edges: 1.0 / 0.0 / -1.0 / None (see the module docstring)."""
    result: dict[str, float | None] = dict.fromkeys(CHEXPERT_OBSERVATIONS)
    if not texts:
        return result
    mentions: dict[int, str] = {}
    for i, label in enumerate(labels):
        if label in _VALUE:
            word = _mapped_word(texts[i])
            if word is not None:
                mentions[i] = word
    pathology_found = False
    if mentions:
        targets: dict[int, list[int]] = {}
        modifiers: dict[int, set[str]] = {}
        anatomy_modifiers: dict[int, list[int]] = {}
        for src, dst, relation in edges:  # one pass, so labelling stays linear in the graph size
            if relation == "located_at":
                if src in mentions:
                    targets.setdefault(src, []).append(dst)
            elif relation == "modify":
                if dst in mentions:
                    modifiers.setdefault(dst, set()).add(texts[src].lower())
                elif labels[src] == ANAT_LABEL:
                    anatomy_modifiers.setdefault(dst, []).append(src)
        locations: dict[int, set[str]] = {}
        for i, located in targets.items():  # the anatomy and the anatomy words that modify it ("chest wall")
            locations[i] = {texts[a].lower() for t in located for a in (t, *anatomy_modifiers.get(t, ()))}
        for i, word in mentions.items():
            anatomy, modified_by = locations.get(i), modifiers.get(i)
            if anatomy is None and modified_by is None:
                found = _mentions_alone(word, labels[i])
            else:
                found = mention_observations(word, labels[i], anatomy or _NONE, modified_by or _NONE)
            for name, value in found:
                current = result[name]
                if current is None or _RANK[value] > _RANK[current]:
                    result[name] = value
                    pathology_found = pathology_found or (value != NEGATIVE and name not in _NOT_PATHOLOGY)
    result["No Finding"] = None if pathology_found else POSITIVE
    return result


_NONE: frozenset[str] = frozenset()


def graph_labels(graph: ReportGraph) -> dict[str, float | None]:
    """The 14 CheXpert observations for one report: 1.0 / 0.0 / -1.0 / None (see the module docstring)."""
    return observation_labels([n.text for n in graph.nodes], [n.label for n in graph.nodes],
                              [(e.src, e.dst, e.relation) for e in graph.edges])
