"""ReportGraph rows and validation; CheXpert labels derived from graphs (aggregation, No Finding rule)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.reports.graph import Edge, Node, ReportGraph
from igcl.reports.labels import graph_labels
from igcl.contracts.schema import GRAPH_SCHEMA


def _graph() -> ReportGraph:
    return ReportGraph(
        (Node("pleural", "ANAT-DP", 3, 10, "findings"), Node("effusion", "OBS-DA", 11, 19, "findings")),
        (Edge(1, 0, "located_at"),),
    )


def test_row_round_trip_matches_parquet_schema():
    graph = _graph()
    row = graph.to_row("s1")
    table = pa.Table.from_pylist([row], schema=GRAPH_SCHEMA)
    assert table.num_rows == 1
    assert ReportGraph.from_row(table.to_pylist()[0]) == graph
    assert ReportGraph.from_row(ReportGraph().to_row("s2")) == ReportGraph()


@pytest.mark.parametrize("row, message", [
    ({"study_id": "s9", "nodes": [{"text": "x", "label": "OBS", "start": 0, "end": 1, "section": "text"}],
      "edges": []}, "node 0 has label 'OBS'"),
    ({"study_id": "s9", "nodes": [{"text": "x", "label": "OBS-DP", "start": 0, "end": 1, "section": "text"}],
      "edges": [{"src": 0, "dst": 3, "relation": "modify"}]}, "edge 0 (0 -> 3) does not join"),
    ({"study_id": "s9", "nodes": [{"text": "a", "label": "ANAT-DP", "start": 0, "end": 1, "section": "text"},
                                  {"text": "b", "label": "OBS-DP", "start": 2, "end": 3, "section": "text"}],
      "edges": [{"src": 0, "dst": 1, "relation": "located_at"}]}, "located_at from ANAT-DP to OBS-DP"),
    ({"study_id": "s9", "nodes": [{"text": "x", "start": 0, "end": 1, "section": "text"}], "edges": []},
     "malformed graph row"),
])
def test_from_row_rejects_rows_that_break_the_schema(row, message):
    with pytest.raises(ValueError, match="study 's9'") as err:
        ReportGraph.from_row(row)
    assert message in str(err.value)


def test_empty_graph_has_no_labels():
    assert graph_labels(ReportGraph()) == dict.fromkeys(CHEXPERT_OBSERVATIONS)


def test_positive_wins_over_uncertain_over_negative(parser):
    labels = graph_labels(parser.parse("No effusion. Possible small effusion. Moderate right effusion."))
    assert labels["Pleural Effusion"] == 1.0
    labels = graph_labels(parser.parse("No effusion. Effusion cannot be excluded."))
    assert labels["Pleural Effusion"] == -1.0
    assert labels["No Finding"] is None


def test_sentence_ends_at_repeated_periods(parser):
    labels = graph_labels(parser.parse("No effusion or pneumothorax.. Minimal right basilar atelectasis noted."))
    assert labels["Atelectasis"] == 1.0 and labels["Pleural Effusion"] == 0.0


def test_no_finding_rule(parser):
    # support devices do not count against No Finding
    assert graph_labels(parser.parse("Endotracheal tube in place. Lungs are clear."))["No Finding"] == 1.0
    # an uncertain pathology does
    assert graph_labels(parser.parse("Possible pneumonia."))["No Finding"] is None
    # negated pathologies do not
    labels = graph_labels(parser.parse("No pneumothorax. No consolidation."))
    assert labels["No Finding"] == 1.0 and labels["Pneumothorax"] == 0.0 and labels["Consolidation"] == 0.0


@pytest.mark.parametrize("text, expected", [
    ("Pericardial effusion.", {"No Finding": 1.0}),
    ("Right pleural thickening.", {"Pleural Other": 1.0}),
    ("Blunting of the left costophrenic angle.", {"Pleural Effusion": 1.0}),
    ("Widened mediastinum.", {"Enlarged Cardiomediastinum": 1.0}),
    ("Patchy airspace disease in the right lower lobe.", {"Lung Opacity": 1.0}),
    ("Hydropneumothorax on the right.", {"Pneumothorax": 1.0, "Pleural Effusion": 1.0}),
    ("Left upper lobe mass.", {"Lung Lesion": 1.0}),
    ("Pulmonary vascular congestion.", {"Edema": 1.0}),
    ("Calcified nodules from prior granulomatous infection.", {"Lung Lesion": 1.0}),
    ("Right lower lobe opacity, likely infection.", {"Lung Opacity": 1.0, "Pneumonia": -1.0}),
])
def test_context_dependent_mappings(parser, text, expected):
    labels = graph_labels(parser.parse(text))
    assert {k: v for k, v in labels.items() if v is not None} == expected, text


def test_labels_of_a_huge_graph_are_fast(parser):
    import time

    graph = parser.parse("Small left pleural effusion. " * 20_000)
    assert len(graph.nodes) == 80_000 and len(graph.edges) == 60_000
    start = time.perf_counter()
    labels = graph_labels(graph)
    assert time.perf_counter() - start < 5
    assert labels["Pleural Effusion"] == 1.0
