"""One test per parser rule, each rule run alone: the rows of the label table (igcl.reports.labels.LABEL_RULES)
and the relation rules of the chunk walk (igcl.reports.extract.CHUNK_RULES, suggestive_of, the chunk-internal
relations)."""

from __future__ import annotations

import pytest

from igcl.labels import NEGATIVE, POSITIVE, UNCERTAIN
from igcl.reports import components, extract
from igcl.reports import lexicon as lx
from igcl.reports.labels import LABEL_RULES, RULES_BY_WORD, mention_observations

# rule name -> (word, label, anatomy, modifiers) that the row alone decides, and the observations it gives; a
# veto's example also names the control (the same word without the veto's condition) in CONTROLS.
LABEL_EXAMPLES = {
    "old infection is no pneumonia": ("infection", "OBS-DP", set(), {"old"}, []),
    "pleural or septal line is a sign": ("line", "OBS-DP", {"pleural"}, set(), []),
    "device fracture is no bone fracture": ("fracture", "OBS-DP", set(), {"catheter"}, []),
    "non-pulmonary edema": ("edema", "OBS-DP", {"soft", "tissue"}, set(), []),
    "Cardiomegaly by word": ("cardiomegaly", "OBS-DP", set(), set(), [("Cardiomegaly", POSITIVE)]),
    "Edema by word": ("chf", "OBS-U", set(), set(), [("Edema", UNCERTAIN)]),
    "Consolidation by word": ("consolidative", "OBS-DP", set(), set(), [("Consolidation", POSITIVE)]),
    "Pneumonia by word": ("pneumonias", "OBS-DA", set(), set(), [("Pneumonia", NEGATIVE)]),
    "Atelectasis by word": ("collapse", "OBS-DP", set(), set(), [("Atelectasis", POSITIVE)]),
    "Pneumothorax by word": ("pneumothoraces", "OBS-DP", set(), set(), [("Pneumothorax", POSITIVE)]),
    "Pleural Effusion by word": ("hydropneumothorax", "OBS-DP", set(), set(),
                                 [("Pneumothorax", POSITIVE), ("Pleural Effusion", POSITIVE)]),
    "Fracture by word": ("fx", "OBS-DP", set(), set(), [("Fracture", POSITIVE)]),
    "Lung Opacity by word": ("opacities", "OBS-DP", set(), set(), [("Lung Opacity", POSITIVE)]),
    "Lung Lesion by word": ("nodule", "OBS-U", set(), set(), [("Lung Lesion", UNCERTAIN)]),
    "Support Devices by word": ("catheter", "OBS-DP", set(), set(), [("Support Devices", POSITIVE)]),
    "vascular congestion": ("prominence", "OBS-DP", {"vascular"}, set(), [("Edema", POSITIVE)]),
    "engorged lung vessels": ("engorged", "OBS-DP", {"pulmonary"}, set(), [("Edema", POSITIVE)]),
    "device tip": ("tip", "OBS-DP", {"svc"}, set(), [("Support Devices", POSITIVE)]),
    "heart failure": ("failure", "OBS-DP", {"heart"}, set(), [("Edema", POSITIVE)]),
    "congestive failure": ("failure", "OBS-DP", set(), {"congestive"}, [("Edema", POSITIVE)]),
    "pleural effusion": ("effusion", "OBS-DP", set(), set(), [("Pleural Effusion", POSITIVE)]),
    "pleural other": ("thickening", "OBS-DP", {"pleural"}, set(), [("Pleural Other", POSITIVE)]),
    "pleural fluid": ("fluid", "OBS-U", {"pleural"}, set(), [("Pleural Effusion", UNCERTAIN)]),
    "pleural fluid collection": ("collection", "OBS-DP", {"pleural"}, {"fluid"}, [("Pleural Effusion", POSITIVE)]),
    "pleural air": ("air", "OBS-DP", {"pleural"}, set(), [("Pneumothorax", POSITIVE)]),
    "pleural air collection": ("collection", "OBS-DP", {"pleural"}, {"air"}, [("Pneumothorax", POSITIVE)]),
    "lung scar": ("scarring", "OBS-DP", {"lung"}, set(), [("Lung Opacity", POSITIVE)]),
    "airspace disease": ("disease", "OBS-DP", {"airspace"}, set(), [("Lung Opacity", POSITIVE)]),
    "interstitial pattern": ("markings", "OBS-DP", {"interstitial"}, set(), [("Lung Opacity", POSITIVE)]),
    "prosthetic valve": ("prosthetic", "OBS-DP", {"aortic", "valve"}, set(), [("Support Devices", POSITIVE)]),
    "enlarged heart": ("enlarged", "OBS-DP", {"heart"}, set(), [("Cardiomegaly", POSITIVE)]),
    "normal heart": ("normal", "OBS-DP", {"cardiac"}, set(), [("Cardiomegaly", NEGATIVE)]),
    "enlarged mediastinum": ("widened", "OBS-U", {"mediastinal"}, set(),
                             [("Enlarged Cardiomediastinum", UNCERTAIN)]),
    "normal mediastinum": ("unremarkable", "OBS-DP", {"mediastinum"}, set(),
                           [("Enlarged Cardiomediastinum", NEGATIVE)]),
}
# A veto's word where its condition does not hold: the word's other rows apply.
CONTROLS = {
    "old infection is no pneumonia": ("infection", "OBS-DP", set(), {"new"}, [("Pneumonia", POSITIVE)]),
    "pleural or septal line is a sign": ("line", "OBS-DP", {"jugular"}, set(), [("Support Devices", POSITIVE)]),
    "device fracture is no bone fracture": ("fracture", "OBS-DP", {"rib"}, set(), [("Fracture", POSITIVE)]),
    "non-pulmonary edema": ("edema", "OBS-DP", {"pulmonary"}, set(), [("Edema", POSITIVE)]),
}


def test_every_label_rule_has_an_example():
    names = [rule.name for rule in LABEL_RULES]
    assert len(names) == len(set(names))
    assert set(names) == set(LABEL_EXAMPLES)


def test_the_word_index_is_the_table():
    assert set(RULES_BY_WORD) == {word for rule in LABEL_RULES for word in rule.words}
    for word, rules in RULES_BY_WORD.items():
        assert list(rules) == [rule for rule in LABEL_RULES if word in rule.words]
    assert mention_observations("clear", "OBS-DP", {"lungs"}, set()) == []


@pytest.mark.parametrize("name", list(LABEL_EXAMPLES))
def test_label_rule(name):
    word, label, anatomy, modifiers, expected = LABEL_EXAMPLES[name]
    rule = next(rule for rule in LABEL_RULES if rule.name == name)
    assert word in rule.words and rule.applies(label, anatomy, modifiers)
    assert mention_observations(word, label, anatomy, modifiers) == expected
    if name in CONTROLS:
        word, label, anatomy, modifiers, expected = CONTROLS[name]
        assert not rule.applies(label, anatomy, modifiers)
        assert mention_observations(word, label, anatomy, modifiers) == expected


def test_a_condition_that_fails_leaves_the_row_out():
    assert mention_observations("thickening", "OBS-DP", {"bronchial"}, set()) == []
    assert mention_observations("normal", "OBS-DA", {"heart"}, set()) == []  # "normal" rows need OBS-DP
    assert mention_observations("effusion", "OBS-DP", {"pericardial"}, set()) == []
    # an OBS-DP mention that "normal" modifies is negative
    assert mention_observations("prominence", "OBS-DP", {"vascular"}, {"normal"}) == [("Edema", NEGATIVE)]


def _state(parser, text: str) -> extract.TextState:
    """The parser's state for ``text`` after tokens, sentences, entities and assertion (no relations yet)."""
    doc = parser.nlp.make_doc(text)
    doc.user_data[components.TEXT_KEY] = text
    for name in components.PIPE_NAMES[:-1]:
        doc = parser.nlp.get_pipe(name)(doc)
    return doc.user_data[components.STATE_KEY]


def _added(parser, text: str, rules, *, suggestive=False, given=()) -> set[str]:
    """Relations (``head>relation>tail`` texts) that ``rules`` add to those of the chunks and ``given`` rules."""
    base = _state(parser, text)
    extract.find_relations(base, tuple(given), suggestive=False)
    state = _state(parser, text)
    extract.find_relations(state, (*given, *rules), suggestive=suggestive)

    def name(i: int) -> str:
        entity = state.entities[i]
        return text[state.starts[entity.start]:state.ends[entity.end - 1]]
    return {f"{name(h)}>{r}>{name(t)}" for h, t, r in state.edges - base.edges}


def test_chunk_internal_relations(parser):
    state = _state(parser, "Small left lower lobe consolidation.")
    extract.find_relations(state, (), suggestive=False)
    words = ["Small", "left", "lower", "lobe", "consolidation"]
    assert {f"{words[h]}>{r}>{words[t]}" for h, t, r in state.edges} == {
        "Small>modify>consolidation", "left>modify>lobe", "lower>modify>lobe", "consolidation>located_at>lobe"}
    # coordination inside a chunk distributes the shared head
    state = _state(parser, "Mediastinal and hilar contours.")
    extract.find_relations(state, (), suggestive=False)
    words = ["Mediastinal", "hilar", "contours"]
    assert {f"{words[h]}>{r}>{words[t]}" for h, t, r in state.edges} == {
        "Mediastinal>modify>contours", "hilar>modify>contours"}


RELATION_EXAMPLES = {
    extract.predicate: [("The lungs are clear.", {"clear>located_at>lungs"}),
                        ("The effusion is small.", {"small>modify>effusion"}),
                        ("Lungs are clear bilaterally.", {"clear>located_at>Lungs", "bilaterally>modify>Lungs"})],
    extract.descriptor_after_comma: [("Moderate edema, slightly improved.", {"improved>modify>edema"})],
    extract.coordinated_descriptor: [("Monitoring and support devices.", {"Monitoring>modify>devices"}),
                                     ("Small, if any, pleural effusion.", {"Small>modify>effusion"})],
    extract.descriptor_of_finding: [("Areas of atelectasis.", {"Areas>modify>atelectasis"}),
                                    ("Improvement in the pneumothorax.", {"Improvement>modify>pneumothorax"})],
    extract.location_after: [("Opacity in the right lower lobe.", {"Opacity>located_at>lobe"}),
                             ("Tortuosity and atherosclerosis of the aorta.",
                              {"Tortuosity>located_at>aorta", "atherosclerosis>located_at>aorta"})],
    extract.part_of_anatomy: [("The apex of the left lung.", {"apex>modify>lung"})],
}


@pytest.mark.parametrize("rule", extract.CHUNK_RULES, ids=lambda rule: rule.__name__)
def test_chunk_rule_alone(parser, rule):
    assert rule.__doc__, "each rule states its contract"
    if rule is extract.clause_subject:  # its subject comes from the predicate rule
        assert _added(parser, "Lungs are clear without consolidation.", [rule], given=[extract.predicate]) == {
            "consolidation>located_at>Lungs"}
        assert _added(parser, "Lungs are clear without consolidation.", [rule]) == set()
        return
    for sentence, expected in RELATION_EXAMPLES[rule]:
        assert _added(parser, sentence, [rule]) == expected, sentence
    # a rule adds nothing where its pattern is absent
    assert _added(parser, "No pneumothorax.", [rule]) == set()


def test_suggestive_of_alone(parser):
    assert _added(parser, "Opacity, likely pneumonia or edema.", [], suggestive=True) == {
        "Opacity>suggestive_of>pneumonia", "Opacity>suggestive_of>edema"}
    # anaphoric_suggestive: "X. This <cue> Y"
    assert _added(parser, "Basilar opacity. This may represent pneumonia.", [], suggestive=True) == {
        "opacity>suggestive_of>pneumonia"}
    # differential: "X, A versus B"
    assert _added(parser, "Opacity, atelectasis versus pneumonia.", [], suggestive=True) == {
        "Opacity>suggestive_of>atelectasis", "Opacity>suggestive_of>pneumonia"}
    assert _added(parser, "Opacity and pneumonia.", [], suggestive=True) == set()


def test_word_lists_live_in_the_lexicon():
    # the token view knows every word the rules compare
    for words in (lx.NEGATION_RESTART, lx.OF_GAP, lx.COPULA_OR_WITHIN, lx.PSEUDO_NEGATION_CUES,
                  lx.ALTERNATIVE_BACK_STOPS, lx.CONJUNCT_BREAK, lx.STRUCTURE_WORDS, lx.TIP_WORDS):
        assert words <= extract.KNOWN_WORDS, words - extract.KNOWN_WORDS
