"""RadGraph's conventions (RADGRAPH_SCHEMA.md) on sentences written for these tests, one group per error family of
issue 14: span granularity, exam and report words, lexicon gaps, assertion through a hedged clause, coordination,
suggestive_of, the located_at target in a chain of anatomy.

Each case: the sentence; its entities in text order as ``text/LABEL`` (A = ANAT-DP, DP/DA/U = OBS-*; ``+`` is a
space inside one entity); and the relations (``head>relation>tail``, entity texts) that must be among the graph's
(``=`` before the first one: exactly these).
"""

from __future__ import annotations

import pytest

LABEL = {"A": "ANAT-DP", "DP": "OBS-DP", "DA": "OBS-DA", "U": "OBS-U"}

SPANS = [  # 1. one token per entity: device names and fixed terms are a head and its modifiers
    ("The orogastric tube ends in the stomach.", "orogastric/DP tube/DP stomach/A",
     "= orogastric>modify>tube tube>located_at>stomach"),
    ("ET tube and NG tube are present.", "ET/DP tube/DP NG/DP tube/DP", "ET>modify>tube NG>modify>tube"),
    ("Dialysis catheter via the internal jugular vein.", "Dialysis/DP catheter/DP internal/A jugular/A vein/A",
     "Dialysis>modify>catheter catheter>located_at>vein internal>modify>vein jugular>modify>vein"),
    ("Tip of the line at the superior vena cava.", "Tip/DP line/DP superior/A vena/A cava/A",
     "superior>modify>cava vena>modify>cava"),
    ("Enlarged lymph nodes.", "Enlarged/DP lymph/A nodes/A", "= Enlarged>located_at>nodes lymph>modify>nodes"),
    ("Mild-to-moderate ill-defined opacity.", "Mild-to-moderate/DP ill-defined/DP opacity/DP",
     "= Mild-to-moderate>modify>opacity ill-defined>modify>opacity"),
]
EXAM_WORDS = [  # 2. words about the examination or the report are not entities
    ("Single AP view of the chest shows no acute process.", "acute/DA process/DA", "= acute>modify>process"),
    ("Frontal and lateral chest radiographs were obtained.", "", "="),
    ("PA and lateral of the chest: the lungs are clear.", "lungs/A clear/DP", "= clear>located_at>lungs"),
    ("These findings were communicated to the covering physician.", "", "="),
    ("Portable upright chest x-ray demonstrates a right effusion.", "right/A effusion/DP",
     "= effusion>located_at>right"),
    # anatomy of a finding stays anatomy
    ("Subcutaneous emphysema in the chest wall.", "Subcutaneous/A emphysema/DP chest/A wall/A",
     "emphysema>located_at>chest wall>modify>chest"),
    ("Findings suggest early pneumonia.", "Findings/DP early/U pneumonia/U", "Findings>suggestive_of>pneumonia"),
]
LEXICON = [  # 3. words the lexicon lacked
    ("The endotracheal tube is in place.", "endotracheal/DP tube/DP in+place/DP",
     "= endotracheal>modify>tube in+place>modify>tube"),
    ("Monitoring and support devices are unchanged.", "Monitoring/DP support/DP devices/DP unchanged/DP",
     "support>modify>devices unchanged>modify>devices"),
    ("Transvenous pacing wires terminate in the right ventricle.",
     "Transvenous/DP pacing/DP wires/DP right/A ventricle/A",
     "Transvenous>modify>wires pacing>modify>wires wires>located_at>ventricle"),
    ("Appropriate placements of the lines.", "Appropriate/DP placements/DP lines/DP",
     "placements>modify>lines"),
    ("Little change in the small effusion.", "Little/DP change/DP small/DP effusion/DP", "Little>modify>change"),
    ("The heart is more enlarged.", "heart/A more/DP enlarged/DP",
     "= more>modify>enlarged enlarged>located_at>heart"),
    ("Less opacity at the left base.", "Less/DP opacity/DP left/A base/A",
     "Less>modify>opacity opacity>located_at>base"),
]


def _check(parser, sentence, entities, relations):
    graph = parser.parse(sentence)
    graph.validate()
    got_entities = [f"{n.text}/{n.label}" for n in graph.nodes]
    expected = []
    for item in entities.split():
        text, label = item.rsplit("/", 1)
        expected.append(f"{text.replace('+', ' ')}/{LABEL[label]}")
    assert got_entities == expected, sentence
    got = {f"{graph.nodes[e.src].text}>{e.relation}>{graph.nodes[e.dst].text}" for e in graph.edges}
    exact = relations.startswith("=")
    wanted = {r.replace("+", " ") for r in relations.lstrip("=").split()}
    if exact:
        assert got == wanted, sentence
    else:
        assert wanted <= got, (sentence, wanted - got)


def _cases(cases):
    return pytest.mark.parametrize("sentence, entities, relations", cases, ids=[c[0][:50] for c in cases])


@_cases(SPANS)
def test_one_token_per_entity(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)


@_cases(EXAM_WORDS)
def test_exam_and_report_words_are_not_entities(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)


@_cases(LEXICON)
def test_lexicon_gaps(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)
