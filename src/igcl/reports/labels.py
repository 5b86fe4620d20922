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

from collections.abc import Iterable, Sequence
from functools import lru_cache

from igcl.labels import CHEXPERT_OBSERVATIONS, NEGATIVE, POSITIVE, UNCERTAIN
from igcl.reports import lexicon as lx
from igcl.reports.graph import ReportGraph

_VALUE = {"OBS-DP": POSITIVE, "OBS-U": UNCERTAIN, "OBS-DA": NEGATIVE}
_RANK = {POSITIVE: 2, UNCERTAIN: 1, NEGATIVE: 0}
_NOT_PATHOLOGY = frozenset({"No Finding", "Support Devices"})
# Every word some rule of mention_observations maps to an observation; any other word maps to nothing, so its
# anatomy and modifiers need not be looked at (most observation nodes are such words: "clear", "stable", ...).
_MAPPED_WORDS = frozenset().union(
    lx.CHEXPERT_BY_WORD, lx.EFFUSION_WORDS, lx.PLEURAL_OTHER_WORDS, lx.PLEURAL_EFFUSION_AT_PLEURA_WORDS,
    lx.LUNG_OPACITY_SCAR_WORDS, lx.AIRSPACE_DISEASE_WORDS, lx.ENLARGED_WORDS, lx.NORMAL_WORDS,
    lx.VASCULAR_CONGESTION_WORDS, lx.HEART_FAILURE_WORDS, lx.PNEUMOTHORAX_AT_PLEURA_WORDS, lx.COLLECTION_WORDS,
    lx.TIP_WORDS, lx.INTERSTITIAL_PATTERN_WORDS)


def mention_observations(word: str, label: str, anatomy: set[str], modifiers: set[str]) -> list[tuple[str, float]]:
    """``(observation, value)`` for an observation node: ``word`` its text lower-cased with spaces collapsed,
    ``label`` its OBS-* label, ``anatomy`` / ``modifiers`` the lower-cased texts of the nodes it is located_at and
    of the nodes that modify it; ``[]`` for an unmapped observation."""
    value = _VALUE[label]
    if label == "OBS-DP" and modifiers & lx.NORMAL_WORDS:
        value = NEGATIVE  # "pulmonary vascular engorgement appears within limits of normal"
    if word in lx.INFECTION_WORDS and modifiers & lx.OLD_INFECTION_MODIFIERS:
        return []
    if word in lx.LINE_WORDS and anatomy & lx.LINE_SIGN_ANATOMY:
        return []
    if word in lx.FRACTURE_WORDS and modifiers & lx.DEVICE_FORMS:
        return []
    if word in lx.EDEMA_WORDS and anatomy & lx.NONPULMONARY_EDEMA_ANATOMY:
        return []
    found = [(name, value) for name in lx.CHEXPERT_BY_WORD.get(word, ())]
    if word in lx.VASCULAR_CONGESTION_WORDS and (anatomy & lx.VASCULAR_ANATOMY or (
            word in lx.VESSEL_ONLY_CONGESTION_WORDS and anatomy & lx.LUNG_ANATOMY_FOR_VESSELS)):
        found.append(("Edema", value))
    if word in lx.TIP_WORDS and anatomy & lx.DEVICE_TIP_ANATOMY:
        found.append(("Support Devices", value))
    if word in lx.HEART_FAILURE_WORDS and (anatomy & lx.HEART_ANATOMY or modifiers & lx.HEART_FAILURE_MODIFIERS):
        found.append(("Edema", value))
    if word in lx.EFFUSION_WORDS and not anatomy & lx.NONPLEURAL_EFFUSION_ANATOMY:
        found.append(("Pleural Effusion", value))
    if anatomy & lx.PLEURAL_ANATOMY:
        if word in lx.PLEURAL_OTHER_WORDS:
            found.append(("Pleural Other", value))
        if _is_or_holds(word, modifiers, lx.PLEURAL_EFFUSION_AT_PLEURA_WORDS):
            found.append(("Pleural Effusion", value))
        if _is_or_holds(word, modifiers, lx.PNEUMOTHORAX_AT_PLEURA_WORDS):
            found.append(("Pneumothorax", value))
    elif word in lx.LUNG_OPACITY_SCAR_WORDS:
        found.append(("Lung Opacity", value))
    if (word in lx.AIRSPACE_DISEASE_WORDS and anatomy & lx.AIRSPACE_ANATOMY) or (
            word in lx.INTERSTITIAL_PATTERN_WORDS and anatomy & lx.INTERSTITIAL_ANATOMY):
        found.append(("Lung Opacity", value))
    for region, name in ((lx.HEART_ANATOMY, "Cardiomegaly"), (lx.MEDIASTINUM_ANATOMY, "Enlarged Cardiomediastinum")):
        if anatomy & region:
            if word in lx.ENLARGED_WORDS:
                found.append((name, value))
            elif word in lx.NORMAL_WORDS and label == "OBS-DP":
                found.append((name, NEGATIVE))
    return found


def _is_or_holds(word: str, modifiers: set[str], contents: frozenset[str]) -> bool:
    """``word`` is one of ``contents`` ("pleural fluid"), or a collection of one ("pleural fluid collection")."""
    return word in contents or (word in lx.COLLECTION_WORDS and not modifiers.isdisjoint(contents))


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
        locations: dict[int, set[str]] = {}
        modifiers: dict[int, set[str]] = {}
        for src, dst, relation in edges:  # one pass, so labelling stays linear in the graph size
            if relation == "located_at":
                if src in mentions:
                    locations.setdefault(src, set()).add(texts[dst].lower())
            elif relation == "modify" and dst in mentions:
                modifiers.setdefault(dst, set()).add(texts[src].lower())
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
