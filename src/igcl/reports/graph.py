"""The entity-relation graph of one report, in RadGraph's schema (``/work/shared/RADGRAPH_SCHEMA.md``).

A :class:`ReportGraph` is what the parser returns and what a row of ``data/graphs/part-*.parquet`` stores
(``igcl.contracts.schema.GRAPH_SCHEMA``):

- ``nodes``: entities in text order; ``label`` ∈ OBS-DP, OBS-U, OBS-DA, ANAT-DP; ``start``/``end`` are character
  offsets into the full report text (``end`` exclusive, so ``text[start:end] == node.text``); ``section`` is
  ``findings``, ``impression`` or ``text`` (no header found).
- ``edges``: directed relations ``src → dst`` (indices into ``nodes``); ``relation`` ∈ modify, located_at,
  suggestive_of. Allowed head/tail labels: modify OBS→OBS or ANAT→ANAT, located_at OBS→ANAT, suggestive_of OBS→OBS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from igcl.contracts.schema import ENTITY_LABELS, RELATIONS, SECTIONS

OBS_LABELS: frozenset[str] = frozenset({"OBS-DP", "OBS-U", "OBS-DA"})
ANAT_LABEL = "ANAT-DP"


@dataclass(frozen=True)
class Node:
    """One entity: its text, RadGraph label, character span ``[start, end)`` in the report, and section."""

    text: str
    label: str
    start: int
    end: int
    section: str

    @property
    def is_observation(self) -> bool:
        return self.label in OBS_LABELS


@dataclass(frozen=True)
class Edge:
    """A directed relation ``nodes[src] → nodes[dst]``."""

    src: int
    dst: int
    relation: str


def relation_allowed(relation: str, head_label: str, tail_label: str) -> bool:
    """Whether the schema allows ``relation`` from an entity labelled ``head_label`` to one labelled ``tail_label``."""
    head_obs, tail_obs = head_label in OBS_LABELS, tail_label in OBS_LABELS
    if relation == "modify":
        return head_obs == tail_obs
    if relation == "located_at":
        return head_obs and tail_label == ANAT_LABEL
    if relation == "suggestive_of":
        return head_obs and tail_obs
    return False


@dataclass(frozen=True)
class ReportGraph:
    """Entities and relations of one report (see the module docstring for the schema)."""

    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()

    def validate(self, *, where: str = "graph") -> None:
        """Raise ``ValueError`` naming ``where`` if a label, section, relation or edge endpoint breaks the schema."""
        for i, node in enumerate(self.nodes):
            if node.label not in ENTITY_LABELS:
                raise ValueError(f"{where}: node {i} has label {node.label!r}, expected one of {ENTITY_LABELS}")
            if node.section not in SECTIONS:
                raise ValueError(f"{where}: node {i} has section {node.section!r}, expected one of {SECTIONS}")
            if not 0 <= node.start < node.end:
                raise ValueError(f"{where}: node {i} has an empty or negative span [{node.start}, {node.end})")
        n = len(self.nodes)
        for j, edge in enumerate(self.edges):
            if not (0 <= edge.src < n and 0 <= edge.dst < n) or edge.src == edge.dst:
                raise ValueError(f"{where}: edge {j} ({edge.src} -> {edge.dst}) does not join two of the {n} nodes")
            if edge.relation not in RELATIONS:
                raise ValueError(f"{where}: edge {j} has relation {edge.relation!r}, expected one of {RELATIONS}")
            head, tail = self.nodes[edge.src].label, self.nodes[edge.dst].label
            if not relation_allowed(edge.relation, head, tail):
                raise ValueError(f"{where}: edge {j} {edge.relation} from {head} to {tail} is not allowed")

    def to_row(self, study_id: str) -> dict[str, Any]:
        """One row of ``GRAPH_SCHEMA``: ``{"study_id", "nodes": [{text, label, start, end, section}], "edges": [...]}``."""
        return {
            "study_id": study_id,
            "nodes": [{"text": n.text, "label": n.label, "start": n.start, "end": n.end, "section": n.section}
                      for n in self.nodes],
            "edges": [{"src": e.src, "dst": e.dst, "relation": e.relation} for e in self.edges],
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ReportGraph":
        """Inverse of :meth:`to_row` (``study_id`` is ignored); raises ``ValueError`` if the row breaks the schema."""
        try:
            nodes = tuple(Node(str(n["text"]), str(n["label"]), int(n["start"]), int(n["end"]), str(n["section"]))
                          for n in (row.get("nodes") or ()))
            edges = tuple(Edge(int(e["src"]), int(e["dst"]), str(e["relation"])) for e in (row.get("edges") or ()))
        except (KeyError, TypeError) as err:
            raise ValueError(f"study {row.get('study_id')!r}: malformed graph row ({err!r})") from err
        graph = cls(nodes, edges)
        graph.validate(where=f"study {row.get('study_id')!r}")
        return graph

    def neighbours(self, index: int, relation: str) -> list[int]:
        """Indices of the tails of ``relation`` edges leaving node ``index``."""
        return [e.dst for e in self.edges if e.src == index and e.relation == relation]
