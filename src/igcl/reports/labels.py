"""CheXpert-style labels (``igcl.labels.CHEXPERT_OBSERVATIONS``) derived from a report graph.

Each observation node (OBS-*) is mapped to CheXpert observations by its text and the anatomy it is located_at
(tables in :mod:`igcl.reports.lexicon`): *effusion* → Pleural Effusion (unless at pericardial anatomy), *thickening*
at *pleural* → Pleural Other, *enlarged* at *heart*/*cardiac* → Cardiomegaly, at *mediastinal* → Enlarged
Cardiomediastinum, *normal*/*unremarkable* at those → a negative mention of the same observation, *tube*/*line*/
*catheter* → Support Devices, and so on. A mention's value follows its label: OBS-DP 1, OBS-U -1, OBS-DA 0.

Within a report, as the CheXpert labeler aggregates, positive wins over uncertain, uncertain over negative; an
observation never mentioned is ``None``.

No Finding (CheXpert's rule): 1 when no pathology other than Support Devices is positive or uncertain, else
``None`` (CheXpert leaves it blank then; it is never 0). A graph with no nodes (an empty report) is evidence of
nothing, so every label, No Finding included, is ``None``.
"""

from __future__ import annotations

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
    lx.LUNG_OPACITY_SCAR_WORDS, lx.AIRSPACE_DISEASE_WORDS, lx.ENLARGED_WORDS, lx.NORMAL_WORDS)


def mention_observations(graph: ReportGraph, index: int, locations: list[int] | None = None,
                         modifiers: list[int] | None = None) -> list[tuple[str, float]]:
    """``(observation, value)`` for what node ``index`` says; ``[]`` for anatomy or an unmapped observation.

    ``locations`` / ``modifiers``: the node's located_at tails and the heads of modify edges into it, if the caller
    has them (else found by a scan of the edges).
    """
    node = graph.nodes[index]
    if node.label not in _VALUE:
        return []
    word = " ".join(node.text.lower().split())
    if word not in _MAPPED_WORDS:
        return []
    value = _VALUE[node.label]
    if locations is None:
        locations = graph.neighbours(index, "located_at")
    anatomy = {graph.nodes[j].text.lower() for j in locations}
    if word in lx.INFECTION_WORDS:
        if modifiers is None:
            modifiers = [e.src for e in graph.edges if e.dst == index and e.relation == "modify"]
        if {graph.nodes[j].text.lower() for j in modifiers} & lx.OLD_INFECTION_MODIFIERS:
            return []
    found = [(name, value) for name in lx.CHEXPERT_BY_WORD.get(word, ())]
    if word in lx.EFFUSION_WORDS and not anatomy & lx.NONPLEURAL_EFFUSION_ANATOMY:
        found.append(("Pleural Effusion", value))
    if anatomy & lx.PLEURAL_ANATOMY:
        if word in lx.PLEURAL_OTHER_WORDS:
            found.append(("Pleural Other", value))
        if word in lx.PLEURAL_EFFUSION_AT_PLEURA_WORDS:
            found.append(("Pleural Effusion", value))
    elif word in lx.LUNG_OPACITY_SCAR_WORDS:
        found.append(("Lung Opacity", value))
    if word in lx.AIRSPACE_DISEASE_WORDS and anatomy & lx.AIRSPACE_ANATOMY:
        found.append(("Lung Opacity", value))
    for region, name in ((lx.HEART_ANATOMY, "Cardiomegaly"), (lx.MEDIASTINUM_ANATOMY, "Enlarged Cardiomediastinum")):
        if anatomy & region:
            if word in lx.ENLARGED_WORDS:
                found.append((name, value))
            elif word in lx.NORMAL_WORDS and node.label == "OBS-DP":
                found.append((name, NEGATIVE))
    return found


def graph_labels(graph: ReportGraph) -> dict[str, float | None]:
    """The 14 CheXpert observations for one report: 1.0 / 0.0 / -1.0 / None (see the module docstring)."""
    labels: dict[str, float | None] = dict.fromkeys(CHEXPERT_OBSERVATIONS)
    if not graph.nodes:
        return labels
    locations: dict[int, list[int]] = {}
    modifiers: dict[int, list[int]] = {}
    for edge in graph.edges:  # one pass, so labelling stays linear in the graph size
        if edge.relation == "located_at":
            locations.setdefault(edge.src, []).append(edge.dst)
        elif edge.relation == "modify":
            modifiers.setdefault(edge.dst, []).append(edge.src)
    for i in range(len(graph.nodes)):
        for name, value in mention_observations(graph, i, locations.get(i, []), modifiers.get(i, [])):
            current = labels[name]
            if current is None or _RANK[value] > _RANK[current]:
                labels[name] = value
    pathology_found = any(labels[name] in (POSITIVE, UNCERTAIN)
                          for name in CHEXPERT_OBSERVATIONS if name not in _NOT_PATHOLOGY)
    labels["No Finding"] = None if pathology_found else POSITIVE
    return labels
