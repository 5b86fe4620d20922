"""Import of RadGraph's JSON: offsets from token indices, label mapping, dropped measurements, clear errors."""

from __future__ import annotations

import json

import pytest

from igcl.reports.graph import Edge, Node, ReportGraph
from igcl.reports.radgraph_json import RadGraphImportError, map_label, read_radgraph_json, study_id_from_key

# RADGRAPH_SCHEMA.md's worked example, tokenised the way RadGraph does (punctuation split off).
EXAMPLE_TEXT = "Mild left lower lobe consolidation , which may represent pneumonia . No pleural effusion ."
EXAMPLE_ENTITIES = {
    "1": {"tokens": "Mild", "label": "OBS-DP", "start_ix": 0, "end_ix": 0, "relations": [["modify", "5"]]},
    "2": {"tokens": "left", "label": "ANAT-DP", "start_ix": 1, "end_ix": 1, "relations": [["modify", "4"]]},
    "3": {"tokens": "lower", "label": "ANAT-DP", "start_ix": 2, "end_ix": 2, "relations": [["modify", "4"]]},
    "4": {"tokens": "lobe", "label": "ANAT-DP", "start_ix": 3, "end_ix": 3, "relations": []},
    "5": {"tokens": "consolidation", "label": "OBS-DP", "start_ix": 4, "end_ix": 4,
          "relations": [["located_at", "4"], ["suggestive_of", "6"]]},
    "6": {"tokens": "pneumonia", "label": "OBS-U", "start_ix": 9, "end_ix": 9, "relations": []},
    "7": {"tokens": "pleural", "label": "ANAT-DP", "start_ix": 12, "end_ix": 12, "relations": []},
    "8": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 13, "end_ix": 13, "relations": [["located_at", "7"]]},
}


def write_json(tmp_path, data, name="graphs.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_worked_example_offsets_labels_and_edges(tmp_path):
    path = write_json(tmp_path, {"p18/p18004941/s58821758.txt": {
        "text": EXAMPLE_TEXT, "entities": EXAMPLE_ENTITIES, "data_source": None, "data_split": "inference"}})
    [(study_id, graph)] = read_radgraph_json(path)
    assert study_id == "s58821758"
    assert [n.text for n in graph.nodes] == ["Mild", "left", "lower", "lobe", "consolidation", "pneumonia",
                                             "pleural", "effusion"]
    assert [n.label for n in graph.nodes] == ["OBS-DP", "ANAT-DP", "ANAT-DP", "ANAT-DP", "OBS-DP", "OBS-U",
                                              "ANAT-DP", "OBS-DA"]
    assert all(EXAMPLE_TEXT[n.start:n.end] == n.text and n.section == "text" for n in graph.nodes)
    assert (graph.nodes[4].start, graph.nodes[4].end) == (21, 34)
    assert graph.edges == (Edge(0, 4, "modify"), Edge(1, 3, "modify"), Edge(2, 3, "modify"),
                           Edge(4, 3, "located_at"), Edge(4, 5, "suggestive_of"), Edge(7, 6, "located_at"))


def test_multi_token_spans_and_node_order_by_position(tmp_path):
    text = "endotracheal tube tip in good position"
    path = write_json(tmp_path, {"s1.txt": {"text": text, "entities": {
        "10": {"tokens": "tip", "label": "OBS-DP", "start_ix": 2, "end_ix": 2, "relations": [["modify", "9"]]},
        "9": {"tokens": "endotracheal tube", "label": "OBS-DP", "start_ix": 0, "end_ix": 1, "relations": []}}}})
    [(_, graph)] = read_radgraph_json(path)
    assert graph.nodes == (Node("endotracheal tube", "OBS-DP", 0, 17, "text"), Node("tip", "OBS-DP", 18, 21, "text"))
    assert graph.edges == (Edge(1, 0, "modify"),)


def test_radgraph_xl_labels_map_and_measurements_drop_with_their_relations(tmp_path):
    text = "3 cm nodule in the right lung , no pneumothorax , possible pneumonia"
    entities = {
        "1": {"tokens": "3 cm", "label": "Observation::measurement::definitely present", "start_ix": 0, "end_ix": 1,
              "relations": [["modify", "2"]]},
        "2": {"tokens": "nodule", "label": "Observation::definitely present", "start_ix": 2, "end_ix": 2,
              "relations": [["located_at", "4"], ["modify", "1"]]},
        "3": {"tokens": "right", "label": "Anatomy::definitely present", "start_ix": 5, "end_ix": 5,
              "relations": [["modify", "4"]]},
        "4": {"tokens": "lung", "label": "Anatomy::definitely present", "start_ix": 6, "end_ix": 6, "relations": []},
        "5": {"tokens": "pneumothorax", "label": "Observation::definitely absent", "start_ix": 9, "end_ix": 9,
              "relations": []},
        "6": {"tokens": "pneumonia", "label": "Observation::uncertain", "start_ix": 12, "end_ix": 12,
              "relations": []},
    }
    [(_, graph)] = read_radgraph_json(write_json(tmp_path, {"p1/p1/s2.txt": {"text": text, "entities": entities}}))
    assert [(n.text, n.label) for n in graph.nodes] == [("nodule", "OBS-DP"), ("right", "ANAT-DP"),
                                                        ("lung", "ANAT-DP"), ("pneumothorax", "OBS-DA"),
                                                        ("pneumonia", "OBS-U")]
    assert graph.edges == (Edge(0, 2, "located_at"), Edge(1, 2, "modify"))


def test_label_map_and_study_ids():
    assert map_label("ANAT-DA") == "ANAT-DP" and map_label("Anatomy::definitely absent") == "ANAT-DP"
    assert map_label("Anatomy::measurement::definitely present") is None
    with pytest.raises(KeyError):
        map_label("Device::present")
    assert study_id_from_key("p18/p18004941/s58821758.txt") == "s58821758"
    assert study_id_from_key("s5") == "s5"


def test_annotated_split_format_with_labeler_1(tmp_path):
    path = write_json(tmp_path, {"p1/p2/s3.txt": {"text": "No effusion", "labeler_1": {"entities": {
        "1": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 1, "end_ix": 1, "relations": []}}},
        "labeler_2": {"entities": {}}}})
    [(study_id, graph)] = read_radgraph_json(path)
    assert study_id == "s3" and graph.nodes == (Node("effusion", "OBS-DA", 3, 11, "text"),)


def test_empty_entities_give_an_empty_graph(tmp_path):
    [(_, graph)] = read_radgraph_json(write_json(tmp_path, {"s1.txt": {"text": "", "entities": {}}}))
    assert graph == ReportGraph(nodes=(), edges=())


@pytest.mark.parametrize("value, message", [
    ({"text": "No effusion", "entities": {"1": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 1, "end_ix": 1,
                                                "relations": [["located_at", "7"]]}}},
     "report 'p1/p1/s9.txt': entity '1': relation 'located_at' refers to entity '7', which does not exist"),
    ({"text": "No effusion", "entities": {"1": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 1,
                                                "end_ix": 5, "relations": []}}},
     "report 'p1/p1/s9.txt': entity '1' has token indices 1..5 outside the report's 2 tokens"),
    ({"text": "No effusion", "entities": {"1": {"tokens": "edema", "label": "OBS-DA", "start_ix": 1, "end_ix": 1,
                                                "relations": []}}},
     "report 'p1/p1/s9.txt': entity '1': tokens 'edema' differ from the text"),
    ({"text": "No effusion", "entities": {"1": {"tokens": "effusion", "label": "FINDING", "start_ix": 1,
                                                "end_ix": 1, "relations": []}}},
     "report 'p1/p1/s9.txt': entity '1' has unknown label 'FINDING'"),
    ({"text": "No effusion", "entities": {"1": {"tokens": "effusion", "label": "OBS-DA", "start_ix": 1, "end_ix": 1,
                                                "relations": [["causes", "1"]]}}},
     "report 'p1/p1/s9.txt': entity '1': unknown relation 'causes'"),
    ({"entities": {}}, "report 'p1/p1/s9.txt': missing 'text'"),
    ({"text": "x"}, "report 'p1/p1/s9.txt': missing 'entities'"),
    ([1, 2], "report 'p1/p1/s9.txt': expected an object"),
])
def test_bad_reports_name_the_file_and_report(tmp_path, value, message):
    path = write_json(tmp_path, {"p1/p1/s9.txt": value})
    with pytest.raises(RadGraphImportError) as err:
        read_radgraph_json(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_malformed_json_and_duplicate_studies(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"s1.txt": {"text": "a", ')
    with pytest.raises(RadGraphImportError, match="bad.json: not valid JSON"):
        read_radgraph_json(bad)
    with pytest.raises(RadGraphImportError, match="bad.json: expected a JSON object"):
        bad.write_text("[]")
        read_radgraph_json(bad)
    dup = write_json(tmp_path, {"a/s1.txt": {"text": "", "entities": {}}, "b/s1.txt": {"text": "", "entities": {}}})
    with pytest.raises(RadGraphImportError, match="'a/s1.txt' and 'b/s1.txt' both give study_id 's1'"):
        read_radgraph_json(dup)
    with pytest.raises(RadGraphImportError, match="no such RadGraph JSON file"):
        read_radgraph_json(tmp_path / "absent.json")


def test_relations_the_schema_does_not_allow_are_dropped_and_logged(tmp_path, caplog):
    text = "right lung opacity"
    entities = {
        "1": {"tokens": "right", "label": "ANAT-DP", "start_ix": 0, "end_ix": 0,
              "relations": [["located_at", "2"], ["modify", "2"]]},  # located_at from anatomy: not allowed
        "2": {"tokens": "lung", "label": "ANAT-DP", "start_ix": 1, "end_ix": 1, "relations": [["modify", "2"]]},
        "3": {"tokens": "opacity", "label": "OBS-DP", "start_ix": 2, "end_ix": 2,
              "relations": [["modify", "2"], ["located_at", "2"]]},  # modify OBS -> ANAT: not allowed
    }
    with caplog.at_level("WARNING", logger="igcl.reports.radgraph_json"):
        [(_, graph)] = read_radgraph_json(write_json(tmp_path, {"s1.txt": {"text": text, "entities": entities}}))
    assert graph.edges == (Edge(0, 1, "modify"), Edge(2, 1, "located_at"))
    assert "dropped 3 relation(s) in 1 report(s)" in caplog.text
