"""Import RadGraph's released graphs (``MIMIC-CXR_graphs.json`` format) as igcl :class:`ReportGraph` objects.

The file is one JSON object keyed by report id (``"p18/p18004941/s58821758.txt"``); each value holds

* ``text``: the report's tokens joined by single spaces,
* ``entities``: ``{entity_id: {tokens, label, start_ix, end_ix, relations: [[relation, target_id], ...]}}`` where
  ``start_ix``/``end_ix`` are inclusive indices into ``text.split(" ")``.

RadGraph's annotated splits (``train.json`` etc.) nest the entities under ``labeler_1``; that form is read too.

Conversion (RADGRAPH_SCHEMA.md):

* study_id: the key's last path component without ``.txt`` (``s58821758``), so graphs join the MIMIC manifest;
* character offsets: ``start`` = offset of token ``start_ix`` in ``text``, ``end`` = end of token ``end_ix``
  (exclusive); the entity's ``tokens`` must equal that slice of ``text``; section is ``text`` for every node;
* labels: RadGraph 1.0 labels ``OBS-DP``, ``OBS-U``, ``OBS-DA``, ``ANAT-DP`` are kept; RadGraph-XL's
  ``Observation::definitely present`` / ``::uncertain`` / ``::definitely absent`` map to OBS-DP / OBS-U / OBS-DA;
  anatomy with any assertion (``Anatomy::...``, ``ANAT-U``, ``ANAT-DA``) maps to ANAT-DP, the one anatomy label of
  igcl's schema; labels naming a measurement are dropped, with every relation from or to them;
* nodes are ordered by (start, end, entity id); edges by source node, then the entity's relation order;
* a relation igcl's schema does not allow between the two labels (e.g. ``located_at`` from anatomy, ``modify``
  from observation to anatomy) or from an entity to itself is dropped; drops are counted and logged per file.

Errors (:class:`RadGraphImportError`) name the file and the report id: malformed JSON, a report without
``text``/``entities``, an entity whose indices fall outside the text or whose tokens do not match it, an unknown
label or relation, a relation to an entity id that does not exist, two keys giving the same study_id.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from igcl.reports.graph import Edge, Node, ReportGraph, relation_allowed
from igcl.contracts.schema import RELATIONS

log = logging.getLogger(__name__)

SECTION = "text"

V1_LABELS = {"OBS-DP": "OBS-DP", "OBS-U": "OBS-U", "OBS-DA": "OBS-DA",
             "ANAT-DP": "ANAT-DP", "ANAT-U": "ANAT-DP", "ANAT-DA": "ANAT-DP"}
XL_OBSERVATION = {"definitely present": "OBS-DP", "uncertain": "OBS-U", "definitely absent": "OBS-DA"}


class RadGraphImportError(ValueError):
    """RadGraph JSON that cannot be turned into igcl graphs; the message names the file and the report id."""


def map_label(label: str) -> str | None:
    """igcl's label for a RadGraph 1.0 or RadGraph-XL entity label; None for a measurement (dropped).

    Raises ``KeyError`` for a label of neither scheme.
    """
    if label in V1_LABELS:
        return V1_LABELS[label]
    if "measurement" in label.lower():
        return None
    kind, _, assertion = label.partition("::")
    if kind == "Anatomy" and assertion:
        return "ANAT-DP"
    if kind == "Observation" and assertion in XL_OBSERVATION:
        return XL_OBSERVATION[assertion]
    raise KeyError(label)


def study_id_from_key(key: str) -> str:
    """``"p18/p18004941/s58821758.txt"`` -> ``"s58821758"``."""
    name = key.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".txt") else name


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Character ``(start, end)`` of each token of ``text.split(" ")``; end exclusive."""
    offsets, pos = [], 0
    for token in text.split(" "):
        offsets.append((pos, pos + len(token)))
        pos += len(token) + 1
    return offsets


def convert_report(report_id: str, value: Any, *, where: str) -> tuple[ReportGraph, int]:
    """One report's JSON value -> (:class:`ReportGraph`, relations dropped as not allowed by igcl's schema).

    Errors name ``where`` (the file) and the report id.
    """
    def fail(problem: str) -> RadGraphImportError:
        return RadGraphImportError(f"{where}: report {report_id!r}: {problem}")

    if not isinstance(value, Mapping):
        raise fail(f"expected an object with 'text' and 'entities', got {type(value).__name__}")
    if "entities" not in value and isinstance(value.get("labeler_1"), Mapping):
        entities = value["labeler_1"].get("entities")
    else:
        entities = value.get("entities")
    text = value.get("text")
    if not isinstance(text, str):
        raise fail("missing 'text' (a string of space-joined tokens)")
    if not isinstance(entities, Mapping):
        raise fail("missing 'entities' (an object keyed by entity id)")

    offsets = token_offsets(text)
    kept: list[tuple[int, int, str, str, list]] = []  # (start, end, entity id, label, relations)
    dropped: set[str] = set()
    for entity_id, entity in entities.items():
        if not isinstance(entity, Mapping):
            raise fail(f"entity {entity_id!r} is not an object")
        try:
            raw_label, start_ix, end_ix = entity["label"], entity["start_ix"], entity["end_ix"]
        except KeyError as err:
            raise fail(f"entity {entity_id!r} lacks {err.args[0]!r}") from None
        try:
            label = map_label(raw_label)
        except (KeyError, AttributeError):
            raise fail(f"entity {entity_id!r} has unknown label {raw_label!r}") from None
        if label is None:
            dropped.add(str(entity_id))
            continue
        if not (isinstance(start_ix, int) and isinstance(end_ix, int) and 0 <= start_ix <= end_ix < len(offsets)):
            raise fail(f"entity {entity_id!r} has token indices {start_ix}..{end_ix} outside the report's "
                       f"{len(offsets)} tokens")
        start, end = offsets[start_ix][0], offsets[end_ix][1]
        tokens = entity.get("tokens")
        if tokens is not None and tokens != text[start:end]:
            raise fail(f"entity {entity_id!r}: tokens {tokens!r} differ from the text at its indices "
                       f"{text[start:end]!r}")
        relations = entity.get("relations", [])
        if not isinstance(relations, list):
            raise fail(f"entity {entity_id!r}: 'relations' is not a list")
        kept.append((start, end, str(entity_id), label, relations))

    kept.sort(key=lambda item: (item[0], item[1], _id_key(item[2])))
    index = {entity_id: i for i, (_, _, entity_id, _, _) in enumerate(kept)}
    all_ids = {str(entity_id) for entity_id in entities}
    nodes = tuple(Node(text=text[start:end], label=label, start=start, end=end, section=SECTION)
                  for start, end, _, label, _ in kept)
    edges, not_allowed = [], 0
    for src, (_, _, entity_id, _, relations) in enumerate(kept):
        for relation in relations:
            if not (isinstance(relation, (list, tuple)) and len(relation) == 2):
                raise fail(f"entity {entity_id!r}: relation {relation!r} is not [relation, target_id]")
            name, target = relation[0], str(relation[1])
            if target not in all_ids:
                raise fail(f"entity {entity_id!r}: relation {name!r} refers to entity {target!r}, "
                           "which does not exist")
            if target in dropped:
                continue
            if name not in RELATIONS:
                raise fail(f"entity {entity_id!r}: unknown relation {name!r} (expected one of {list(RELATIONS)})")
            dst = index[target]
            if dst == src or not relation_allowed(name, nodes[src].label, nodes[dst].label):
                not_allowed += 1
                continue
            edges.append(Edge(src=src, dst=dst, relation=name))
    graph = ReportGraph(nodes=nodes, edges=tuple(edges))
    try:
        graph.validate(where=f"{where}: report {report_id!r}")
    except ValueError as err:
        raise RadGraphImportError(str(err)) from None
    return graph, not_allowed


def _id_key(entity_id: str) -> tuple[int, int | str]:
    # RadGraph ids are decimal strings; order them as numbers so "10" follows "9".
    return (0, int(entity_id)) if entity_id.isdigit() else (1, entity_id)


def read_radgraph_json(path: str | os.PathLike[str]) -> list[tuple[str, ReportGraph]]:
    """``(study_id, graph)`` for every report of a RadGraph JSON file, in the file's key order."""
    path = Path(path)
    if not path.is_file():
        raise RadGraphImportError(f"{path}: no such RadGraph JSON file")
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RadGraphImportError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, Mapping):
        raise RadGraphImportError(f"{path}: expected a JSON object keyed by report id, got {type(data).__name__}")
    graphs: list[tuple[str, ReportGraph]] = []
    seen: dict[str, str] = {}
    dropped_edges = reports_with_drops = 0
    for report_id, value in data.items():
        study_id = study_id_from_key(report_id)
        if study_id in seen:
            raise RadGraphImportError(f"{path}: reports {seen[study_id]!r} and {report_id!r} both give study_id "
                                      f"{study_id!r}")
        seen[study_id] = report_id
        graph, not_allowed = convert_report(report_id, value, where=str(path))
        dropped_edges += not_allowed
        reports_with_drops += bool(not_allowed)
        graphs.append((study_id, graph))
    if dropped_edges:
        log.warning("%s: dropped %d relation(s) in %d report(s) that igcl's schema does not allow between "
                    "their entities' labels", path, dropped_edges, reports_with_drops)
    log.info("%s: imported %d report graphs", path, len(graphs))
    return graphs
