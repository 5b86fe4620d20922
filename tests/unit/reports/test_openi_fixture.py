"""The hand-annotated OpenI fixture: its loader, hash check and scorer on a report of our own, and (network) that
every committed sentence resolves against the real archive."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from igcl_openi.fixture import (AnnotatedSentence, SentenceGraph, gold_graph, load_fixture,
                                        predicted_graphs, resolve, score, sentence_digest)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "openi_radgraph_sentences.json"
REPORT = "FINDINGS: Heart size is normal. Small left pleural effusion.\nIMPRESSION: No pneumothorax."


def _sentence(text: str, entities, relations, file="own/1.xml") -> AnnotatedSentence:
    start = REPORT.index(text)
    return AnnotatedSentence(file, "findings", start, start + len(text), sentence_digest(text),
                             tuple(entities), tuple(relations))


def test_scores_a_report_of_our_own(parser):
    # tokens: Small_0 left_1 pleural_2 effusion_3 ._4 ; "effusion" mislabelled on purpose, one relation missing
    sentence = _sentence("Small left pleural effusion.",
                         [(0, 0, "OBS-DP"), (1, 1, "ANAT-DP"), (2, 2, "ANAT-DP"), (3, 3, "OBS-U")],
                         [(0, 3, "modify"), (1, 2, "modify"), (3, 2, "located_at"), (3, 1, "located_at")])
    reports = {"own/1.xml": REPORT}
    assert resolve([sentence], reports) == ["Small left pleural effusion."]
    [predicted] = predicted_graphs(parser, [sentence], reports)
    assert predicted == SentenceGraph(
        frozenset({((0, 0), "OBS-DP"), ((1, 1), "ANAT-DP"), ((2, 2), "ANAT-DP"), ((3, 3), "OBS-DP")}),
        frozenset({((0, 0), (3, 3), "modify"), ((1, 1), (2, 2), "modify"), ((3, 3), (2, 2), "located_at")}))
    scores = score([gold_graph(sentence)], [predicted])
    assert (scores["entity"].true_positive, scores["entity"].false_positive, scores["entity"].false_negative) == (3, 1, 1)
    assert scores["span"].f1 == 1.0
    assert (scores["relation"].true_positive, scores["relation"].false_negative) == (3, 1)
    assert scores["relation"].precision == 1.0 and scores["relation"].recall == 0.75


def test_a_changed_text_is_an_error_that_names_the_sentence():
    sentence = _sentence("Small left pleural effusion.", [(0, 0, "OBS-DP")], [])
    with pytest.raises(ValueError, match=r"own/1.xml \[\d+:\d+\] does not match"):
        resolve([sentence], {"own/1.xml": REPORT.replace("Small", "Large")})
    with pytest.raises(ValueError, match="no report 'own/1.xml'"):
        resolve([sentence], {})


def test_the_loader_rejects_bad_rows(tmp_path):
    row = {"file": "f.xml", "section": "findings", "start": 0, "end": 4, "sha256": "0" * 64,
           "entities": [[0, 0, "OBS"]], "relations": []}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"sentences": [row]}))
    with pytest.raises(ValueError, match=r"sentence 0 \(f.xml \[0:4\]\): bad entity"):
        load_fixture(path)


def test_the_committed_fixture_holds_no_text():
    rows = json.loads(FIXTURE.read_text())["sentences"]
    assert len(rows) == 100
    assert sum(r["section"] == "findings" for r in rows) == sum(r["section"] == "impression" for r in rows) == 50
    for row in rows:
        assert set(row) == {"file", "section", "start", "end", "sha256", "entities", "relations"}
    assert len(load_fixture(FIXTURE)) == 100


@pytest.mark.network
def test_every_fixture_sentence_resolves_against_the_archive():
    from igcl_openi.reports import fetch_openi_archive, read_openi_report_files

    cache = Path(os.environ.get("IGCL_CACHE", Path.home() / ".cache" / "igcl"))
    sentences = load_fixture(FIXTURE)
    texts = resolve(sentences, read_openi_report_files(fetch_openi_archive(cache)))
    assert len(set(t.lower() for t in texts)) == 100
    tests_text = "".join(p.read_text().lower() for p in Path(__file__).resolve().parents[1].rglob("*.py"))
    assert not any(t.lower() in tests_text for t in texts)  # unseen by the other tests
