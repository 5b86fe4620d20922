"""The parser on odd input: never raises, offsets always slice back to the node text; batching and pickling."""

from __future__ import annotations

import pickle
import time

import pytest

from igcl.reports.graph import ReportGraph


def _check_offsets(text: str, graph: ReportGraph) -> None:
    graph.validate()
    for node in graph.nodes:
        assert text[node.start:node.end] == node.text


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \r\n", "FINDINGS:\n\nIMPRESSION:  \n"])
def test_empty_or_blank_text_gives_empty_graph(parser, text):
    assert parser.parse(text) == ReportGraph((), ())


@pytest.mark.parametrize("text", [
    "No effusion.\x00\x07\x1b[31m Lungs\x0c are clear.\x7f",
    "FINDINGS: Épanchement pleural ≥ 2 cm — small left pleural effusion 😀. Cœur normal.\u2028No pneumothorax.",
    "IMPRESSION: 1. Mild cardiomegaly.\r\n2. No edema.\r\n",
    "\u200b\ufeffno effusion\u00a0or pneumothorax",
    "?" * 50 + "no" + "," * 50 + "effusion",
    "findings: " * 100,
    "ET tube. NG tube. Tip of the PICC line in the SVC; no... pneumothorax??",
])
def test_odd_text_never_raises_and_offsets_hold(parser, text):
    _check_offsets(text, parser.parse(text))


def test_control_characters_do_not_hide_findings(parser):
    graph = parser.parse("No effusion.\x00\x07 Moderate\tcardiomegaly.\x7f")
    assert [(n.text, n.label) for n in graph.nodes] == [
        ("effusion", "OBS-DA"), ("Moderate", "OBS-DP"), ("cardiomegaly", "OBS-DP")]


@pytest.mark.slow
def test_one_megabyte_report_is_parsed_linearly(parser):
    # one unpunctuated clause (the worst case for scope rules) and a punctuated half
    unit = "no effusion or pneumothorax opacity consistent with atelectasis not seen possible edema versus "
    text = "FINDINGS: " + unit * (520_000 // len(unit)) + "Mild cardiomegaly. " * (520_000 // 19)
    assert len(text) > 1_000_000
    start = time.perf_counter()
    graph = parser.parse(text)
    assert time.perf_counter() - start < 60
    _check_offsets(text, graph)
    assert len(graph.nodes) > 50_000
    assert all(n.section == "findings" for n in graph.nodes)


def test_sections_and_offsets_in_a_sectioned_report(parser):
    text = ("INDICATION: cough, rule out pneumonia\nFINDINGS: Small left pleural effusion.\n"
            "IMPRESSION: No pneumothorax.")
    graph = parser.parse(text)
    _check_offsets(text, graph)
    # nothing from the indication (its "pneumonia" is not a finding of the report)
    assert [(n.text, n.label, n.section) for n in graph.nodes] == [
        ("Small", "OBS-DP", "findings"), ("left", "ANAT-DP", "findings"), ("pleural", "ANAT-DP", "findings"),
        ("effusion", "OBS-DP", "findings"), ("pneumothorax", "OBS-DA", "impression")]


def test_mimic_style_report_sections(parser):
    text = ("                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n\n"
            " INDICATION:  ___F with cough, eval for pneumonia\n\n FINDINGS:\n \n The lungs are clear.  No pleural\n"
            " effusion.\n \n IMPRESSION:\n \n No acute cardiopulmonary process.\n")
    graph = parser.parse(text)
    _check_offsets(text, graph)
    assert [(n.text, n.label, n.section) for n in graph.nodes] == [
        ("lungs", "ANAT-DP", "findings"), ("clear", "OBS-DP", "findings"), ("pleural", "ANAT-DP", "findings"),
        ("effusion", "OBS-DA", "findings"), ("acute", "OBS-DA", "impression"),
        ("cardiopulmonary", "ANAT-DP", "impression"), ("process", "OBS-DA", "impression")]


def test_section_boundary_ends_scope(parser):
    # the findings' last sentence has no period: the negation must not run into the impression
    graph = parser.parse("FINDINGS: No effusion\nIMPRESSION: Pneumothorax")
    assert [(n.text, n.label) for n in graph.nodes] == [("effusion", "OBS-DA"), ("Pneumothorax", "OBS-DP")]


def test_parse_many_matches_parse_in_order(parser):
    texts = ["Mild edema.", "", "No effusion.", "FINDINGS: Clear lungs.", "Possible pneumonia."] * 30
    many = list(parser.parse_many(texts, batch_size=7))
    assert len(many) == len(texts)
    assert many == [parser.parse(t) for t in texts]


def test_parse_many_rejects_non_text(parser):
    with pytest.raises(TypeError, match="must be str, got NoneType"):
        list(parser.parse_many(["ok", None]))


def test_parser_pickles(parser):
    clone = pickle.loads(pickle.dumps(parser))
    assert clone.parse("Small left pleural effusion.") == parser.parse("Small left pleural effusion.")
