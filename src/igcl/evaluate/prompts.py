"""Zero-shot prompts as config values: (positive, negative) prompt pairs and hand-written prompt graphs.

Light on purpose (no numpy, no pyarrow): the evaluate config checks its prompts with these when the workflow is
read. :mod:`igcl.evaluate.zeroshot` embeds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from igcl.labels import COMPETITION_PATHOLOGIES, ENTITY_LABELS, RELATIONS


def prompt_pairs(pathology: str, templates: Sequence[Sequence[str]],
                 prompts: Mapping[str, Sequence[Sequence[str]]]) -> list[tuple[str, str]]:
    """The (positive, negative) prompt pairs of ``pathology``: its own ``prompts`` entry, else the templates."""
    if pathology in prompts:
        return [(str(a), str(b)) for a, b in prompts[pathology]]
    name = pathology.lower()
    return [(str(a).format(name), str(b).format(name)) for a, b in templates]


def graph_row(graph: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A hand-written prompt graph ``{nodes: [{text, label}], edges: [{src, dst, relation}]}`` -> a GRAPH_SCHEMA
    row (offsets laid out as if the node texts were written one after another); ValueError naming ``where``."""
    if not isinstance(graph, Mapping) or set(graph) - {"nodes", "edges"} or "nodes" not in graph:
        raise ValueError(f"{where}: a prompt graph is {{nodes: [{{text, label}}], edges: [{{src, dst, relation}}]}}")
    nodes, offset = [], 0
    for i, node in enumerate(graph["nodes"]):
        if not isinstance(node, Mapping) or set(node) != {"text", "label"}:
            raise ValueError(f"{where}.nodes[{i}]: needs exactly the keys text and label, got {node!r}")
        if node["label"] not in ENTITY_LABELS:
            raise ValueError(f"{where}.nodes[{i}]: label {node['label']!r} is not one of {list(ENTITY_LABELS)}")
        text = str(node["text"])
        nodes.append({"text": text, "label": node["label"], "start": offset, "end": offset + len(text),
                      "section": "impression"})
        offset += len(text) + 1
    edges = []
    for i, edge in enumerate(graph.get("edges", [])):
        if not isinstance(edge, Mapping) or set(edge) != {"src", "dst", "relation"}:
            raise ValueError(f"{where}.edges[{i}]: needs exactly the keys src, dst and relation, got {edge!r}")
        if edge["relation"] not in RELATIONS:
            raise ValueError(f"{where}.edges[{i}]: relation {edge['relation']!r} is not one of {list(RELATIONS)}")
        for end in ("src", "dst"):
            if not isinstance(edge[end], int) or not 0 <= edge[end] < len(nodes):
                raise ValueError(f"{where}.edges[{i}]: {end} {edge[end]!r} is not a node index (0..{len(nodes) - 1})")
        edges.append({"src": edge["src"], "dst": edge["dst"], "relation": edge["relation"]})
    return {"study_id": where, "nodes": nodes, "edges": edges}


def check_prompt_graphs(graphs: Mapping[str, Any], pathologies: Sequence[str], where: str) -> None:
    """Raise ValueError when ``evaluate.zeroshot.graphs`` names an unknown pathology or holds a malformed graph."""
    for pathology, sides in graphs.items():
        if pathology not in pathologies:
            raise ValueError(f"{where}: unknown pathology {pathology!r}; known: {', '.join(pathologies)}")
        if not isinstance(sides, Mapping) or set(sides) != {"positive", "negative"}:
            raise ValueError(f"{where}.{pathology}: needs exactly the keys positive and negative (lists of graphs)")
        for side in ("positive", "negative"):
            if not isinstance(sides[side], Sequence) or not sides[side]:
                raise ValueError(f"{where}.{pathology}.{side}: needs a non-empty list of graphs")
            for i, graph in enumerate(sides[side]):
                graph_row(graph, f"{where}.{pathology}.{side}[{i}]")


SIDES = ("positive", "negative")


def prompt_key(pathology: str, side: str, index: int) -> str:
    return f"{pathology}|{side}|{index}"


def prompt_texts(cfg, pathologies: Sequence[str] = COMPETITION_PATHOLOGIES) -> list[tuple[str, str]]:
    """``(key, prompt text)`` for every prompt of every pathology, in file order."""
    out = []
    for pathology in pathologies:
        pairs = prompt_pairs(pathology, cfg.templates, cfg.prompts)
        for s, side in enumerate(SIDES):
            out += [(prompt_key(pathology, side, i), pair[s]) for i, pair in enumerate(pairs)]
    return out
