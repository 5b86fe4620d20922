"""Many report graphs gathered as flat columns, then turned into the parse stage's two Arrow tables.

The parse workers append each report's nodes and edges field by field (:meth:`GraphColumns.add`) and its CheXpert
labels (:func:`igcl.reports.labels.observation_labels`) as they go; :meth:`GraphColumns.tables` then cuts the flat
lists into ``GRAPH_SCHEMA`` rows by list offsets and builds ``GRAPH_LABELS_SCHEMA`` column by column. No Python
object per node or edge, and no dict per row: building ``Node`` objects and converting row dicts took a third of a
worker's time. :func:`graph_columns` gathers ``ReportGraph`` objects the same way (the RadGraph JSON import).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.reports.labels import observation_labels
from igcl.contracts.schema import GRAPH_LABELS_SCHEMA, GRAPH_SCHEMA

_NODES_TYPE = GRAPH_SCHEMA.field("nodes").type
_EDGES_TYPE = GRAPH_SCHEMA.field("edges").type


class GraphColumns:
    """Report graphs in input order as flat node and edge field lists, cut into rows by offsets."""

    def __init__(self) -> None:
        self.study_ids: list[str] = []
        self.node_offsets, self.edge_offsets = [0], [0]
        self.text: list[str] = []
        self.label: list[str] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.section: list[str] = []
        self.src: list[int] = []
        self.dst: list[int] = []
        self.relation: list[str] = []
        self.labels: list[dict[str, float | None]] = []

    def add(self, study_id: str, texts: list[str], labels: list[str], starts: list[int], ends: list[int],
            sections: list[str], edges: list[tuple[int, int, str]]) -> None:
        """One report: its nodes' fields as aligned lists and its ``(src, dst, relation)`` edges."""
        self.study_ids.append(study_id)
        self.text += texts
        self.label += labels
        self.start += starts
        self.end += ends
        self.section += sections
        for src, dst, relation in edges:
            self.src.append(src)
            self.dst.append(dst)
            self.relation.append(relation)
        self.node_offsets.append(len(self.text))
        self.edge_offsets.append(len(self.src))
        self.labels.append(observation_labels(texts, labels, edges))

    def add_graph(self, study_id: str, graph) -> None:
        """One report given as a :class:`igcl.reports.graph.ReportGraph`."""
        nodes = graph.nodes
        self.add(study_id, [n.text for n in nodes], [n.label for n in nodes], [n.start for n in nodes],
                 [n.end for n in nodes], [n.section for n in nodes],
                 [(e.src, e.dst, e.relation) for e in graph.edges])

    def graph_table(self) -> pa.Table:
        """``GRAPH_SCHEMA`` rows, one per report added."""
        nodes = _list_of_structs(self.node_offsets, (self.text, self.label, self.start, self.end, self.section),
                                 _NODES_TYPE)
        edges = _list_of_structs(self.edge_offsets, (self.src, self.dst, self.relation), _EDGES_TYPE)
        return pa.Table.from_arrays([pa.array(self.study_ids, pa.string()), nodes, edges], schema=GRAPH_SCHEMA)

    def labels_table(self) -> pa.Table:
        """``GRAPH_LABELS_SCHEMA`` rows (study id + the 14 observations), one per report added."""
        columns = {"study_id": self.study_ids}
        for name in CHEXPERT_OBSERVATIONS:
            columns[name] = [labels[name] for labels in self.labels]
        return pa.Table.from_pydict(columns, schema=GRAPH_LABELS_SCHEMA)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        return self.graph_table(), self.labels_table()


def _list_of_structs(offsets: list[int], fields: tuple[list, ...], list_type: pa.ListType) -> pa.ListArray:
    """A ``list<struct>`` array: row ``i`` holds items ``offsets[i]:offsets[i+1]`` of the flat field lists."""
    struct_type = list_type.value_type
    values = pa.StructArray.from_arrays([pa.array(values, struct_type.field(i).type)
                                         for i, values in enumerate(fields)], fields=list(struct_type))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, type=list_type)


def graph_columns(study_ids: Sequence[str], graphs: Sequence) -> GraphColumns:
    """:class:`GraphColumns` of aligned study ids and ``ReportGraph`` objects."""
    columns = GraphColumns()
    for study_id, graph in zip(study_ids, graphs, strict=True):
        columns.add_graph(study_id, graph)
    return columns
