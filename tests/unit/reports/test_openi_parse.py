"""The parser on all 3,955 real OpenI reports: no exception, valid graphs, sane distributions."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from igcl.reports.graph import relation_allowed
from igcl.reports.labels import graph_labels
from igcl_openi.reports import (N_REPORTS, fetch_openi_archive, label_agreement, read_openi_mesh,
                                read_openi_reports)
from igcl.reports.parser import ReportParser

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="session")
def openi_reports() -> list[tuple[str, str]]:
    cache = Path(os.environ.get("IGCL_CACHE", Path.home() / ".cache" / "igcl"))
    return read_openi_reports(fetch_openi_archive(cache))


@pytest.fixture(scope="module")
def parsed(openi_reports):
    parser = ReportParser()
    return list(zip(openi_reports, parser.parse_many(text for _, text in openi_reports)))


def test_every_report_parses_to_a_valid_graph(parsed):
    assert len(parsed) == N_REPORTS
    for (study_id, text), graph in parsed:
        graph.validate(where=study_id)
        for node in graph.nodes:
            assert text[node.start:node.end] == node.text, study_id
        for edge in graph.edges:
            head, tail = graph.nodes[edge.src], graph.nodes[edge.dst]
            assert relation_allowed(edge.relation, head.label, tail.label), study_id


def test_distributions_are_sane(parsed):
    nonempty = [graph for (_, text), graph in parsed if text.strip()]
    with_entities = sum(1 for graph in nonempty if graph.nodes)
    assert with_entities / len(nonempty) > 0.95
    labels = Counter(node.label for _, graph in parsed for node in graph.nodes)
    observations = labels["OBS-DP"] + labels["OBS-U"] + labels["OBS-DA"]
    assert 0.30 < labels["OBS-DA"] / observations < 0.80
    assert 0.005 < labels["OBS-U"] / observations < 0.10
    assert 0.25 < labels["ANAT-DP"] / sum(labels.values()) < 0.60
    relations = Counter(edge.relation for _, graph in parsed for edge in graph.edges)
    assert set(relations) == {"modify", "located_at", "suggestive_of"}
    total = sum(relations.values())
    assert 0.25 < relations["located_at"] / total < 0.60
    assert 0.25 < relations["modify"] / total < 0.60
    assert 0.01 < relations["suggestive_of"] / total < 0.10
    sections = Counter(node.section for _, graph in parsed for node in graph.nodes)
    assert sections["findings"] > sections["impression"] > 0


def test_derived_labels_look_like_openi(parsed):
    counts = {name: Counter() for name in ("No Finding", "Cardiomegaly", "Pleural Effusion", "Pneumothorax")}
    for _, graph in parsed:
        labels = graph_labels(graph)
        for name in counts:
            counts[name][labels[name]] += 1
    # OpenI is mostly normal studies; pneumothorax is nearly always mentioned only to be negated
    assert counts["No Finding"][1.0] > 0.4 * N_REPORTS
    assert counts["Pneumothorax"][0.0] > 10 * counts["Pneumothorax"][1.0]
    assert counts["Pleural Effusion"][0.0] > counts["Pleural Effusion"][1.0] > 0
    assert counts["Cardiomegaly"][1.0] > 100


# Floors on agreement with the MeSH headings NLM's indexers gave the same reports (bench/parse_quality prints the
# figures: F1 0.82-0.96 at the time of writing). "No Finding" is scored on recall only: the indexers tag many
# findings CheXpert's rule ignores (granulomas, spine), so its precision against "normal" is low by definition.
F1_FLOORS = {"Cardiomegaly": 0.88, "Atelectasis": 0.88, "Pleural Effusion": 0.78, "Edema": 0.85,
             "Pneumothorax": 0.70, "Consolidation": 0.80, "Pneumonia": 0.70, "Fracture": 0.80, "Lung Lesion": 0.75,
             "Support Devices": 0.85}


def test_labels_agree_with_the_openi_indexers(parsed):
    cache = Path(os.environ.get("IGCL_CACHE", Path.home() / ".cache" / "igcl"))
    mesh = read_openi_mesh(fetch_openi_archive(cache))
    assert len(mesh) == N_REPORTS
    rows = {row.observation: row for row in label_agreement({s: graph_labels(g) for (s, _), g in parsed}, mesh)}
    assert set(rows) == set(F1_FLOORS) | {"No Finding"}
    for name, floor in F1_FLOORS.items():
        assert rows[name].f1 >= floor, (name, rows[name])
    assert rows["No Finding"].recall >= 0.95
    assert rows["Cardiomegaly"].true_positive + rows["Cardiomegaly"].false_negative > 300  # the headings were read
