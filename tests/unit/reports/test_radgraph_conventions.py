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
     "emphysema>located_at>wall chest>modify>wall"),
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

ASSERTION = [  # 4. a hedge covers the clause it governs; "if any" and "should be ruled out" are uncertain
    ("Appearance suggests pneumonia with overlying atelectasis.", "Appearance/DP pneumonia/U atelectasis/U", ""),
    ("The findings may represent edema with superimposed infection.", "findings/DP edema/U superimposed/U infection/U",
     "findings>suggestive_of>edema superimposed>modify>infection"),
    ("Small, if any, right pleural effusion.", "Small/U right/A pleural/A effusion/U",
     "= Small>modify>effusion right>modify>pleural effusion>located_at>pleural"),
    ("Tiny apical pneumothorax, if any.", "Tiny/U apical/A pneumothorax/U", ""),
    ("Infection should be ruled out.", "Infection/U", "="),
    ("A fracture must be excluded.", "fracture/U", "="),
    # the hedge stops where its clause does, and a negation is still a negation
    ("Pneumonia is to be ruled out; no effusion.", "Pneumonia/U effusion/DA", "="),
    ("Pneumothorax has been ruled out.", "Pneumothorax/DA", "="),
]
COORDINATION = [  # 5. coordination distributes
    ("Mediastinal and hilar contours are within normal limits.", "Mediastinal/A hilar/A contours/A normal/DP",
     "= Mediastinal>modify>contours hilar>modify>contours normal>located_at>contours"),
    ("Right greater than left pleural effusions.", "Right/A greater/DP left/A pleural/A effusions/DP",
     "= Right>modify>pleural left>modify>pleural greater>modify>effusions effusions>located_at>pleural"),
    ("Small left and right pleural effusions.", "Small/DP left/A right/A pleural/A effusions/DP",
     "= Small>modify>effusions left>modify>pleural right>modify>pleural effusions>located_at>pleural"),
    ("Mild or moderate interstitial edema.", "Mild/DP moderate/DP interstitial/A edema/DP",
     "= Mild>modify>edema moderate>modify>edema edema>located_at>interstitial"),
    # nouns joined by "and" are two things
    ("The heart and lungs are normal.", "heart/A lungs/A normal/DP",
     "= normal>located_at>heart normal>located_at>lungs"),
    ("Normal heart size and aortic tortuosity.", "Normal/DP heart/A size/A aortic/A tortuosity/DP",
     "= Normal>located_at>size heart>modify>size tortuosity>located_at>aortic"),
]
SUGGESTIVE = [  # 6. suggestive_of reaches every alternative
    ("Hazy opacity, likely edema or infection.", "Hazy/DP opacity/DP edema/U infection/U",
     "opacity>suggestive_of>edema opacity>suggestive_of>infection"),
    ("Left basilar density, atelectasis versus consolidation.",
     "Left/A basilar/A density/DP atelectasis/U consolidation/U",
     "density>suggestive_of>atelectasis density>suggestive_of>consolidation"),
    ("Streaky opacities possibly reflecting scarring and/or atelectasis.",
     "Streaky/DP opacities/DP scarring/U atelectasis/U",
     "opacities>suggestive_of>scarring opacities>suggestive_of>atelectasis"),
    # the next sentence points back with "this" / "these"
    ("Patchy right basilar opacity. This most likely reflects aspiration.",
     "Patchy/DP right/A basilar/A opacity/DP aspiration/U", "opacity>suggestive_of>aspiration"),
    ("Small nodular densities. These may represent granulomas or vessels on end.",
     "Small/DP nodular/DP densities/DP granulomas/U vessels/A", "densities>suggestive_of>granulomas"),
    # but not across a sentence that does not point back
    ("Right basilar opacity. The heart is likely enlarged.", "Right/A basilar/A opacity/DP heart/A enlarged/U",
     "= Right>modify>basilar opacity>located_at>basilar enlarged>located_at>heart"),
]
ANATOMY_HEAD = [  # 7. in a chain of anatomy words the last organ or part word is the head
    ("Nodule at the right lung apex.", "Nodule/DP right/A lung/A apex/A",
     "= Nodule>located_at>apex right>modify>apex lung>modify>apex"),
    ("The cardiac silhouette is enlarged.", "cardiac/A silhouette/A enlarged/DP",
     "= cardiac>modify>silhouette enlarged>located_at>silhouette"),
    ("Opacity projecting over the left heart border.", "Opacity/DP left/A heart/A border/A",
     "= Opacity>located_at>border left>modify>border heart>modify>border"),
    ("Effusion in the posterior costophrenic sulci bilaterally.",
     "Effusion/DP posterior/A costophrenic/A sulci/A bilaterally/A",
     "Effusion>located_at>sulci posterior>modify>sulci costophrenic>modify>sulci"),
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


@_cases(ASSERTION)
def test_assertion_through_a_hedged_clause(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)


@_cases(COORDINATION)
def test_coordination_distributes(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)


@_cases(SUGGESTIVE)
def test_suggestive_of_reaches_every_alternative(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)


@_cases(ANATOMY_HEAD)
def test_located_at_the_head_of_an_anatomy_chain(parser, sentence, entities, relations):
    _check(parser, sentence, entities, relations)
