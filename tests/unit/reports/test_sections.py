"""FINDINGS / IMPRESSION section splitting (MIMIC style, OpenI style, fallback)."""

from __future__ import annotations

from igcl.reports.sections import Section, split_sections

MIMIC = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___F with cough

 COMPARISON:  None.

 FINDINGS:
 
 The lungs are clear.  No pleural effusion or pneumothorax.
 Heart size is normal.
 
 IMPRESSION:
 
 No acute cardiopulmonary process.
"""


def _bodies(text: str) -> list[tuple[str, str]]:
    return [(s.name, text[s.start:s.end]) for s in split_sections(text)]


def test_mimic_findings_and_impression():
    assert _bodies(MIMIC) == [
        ("findings", "The lungs are clear.  No pleural effusion or pneumothorax.\n Heart size is normal."),
        ("impression", "No acute cardiopulmonary process."),
    ]


def test_mimic_only_impression_lowercase_header():
    text = "indication: cough\n\nimpression:\n  Mild edema.\n"
    assert _bodies(text) == [("impression", "Mild edema.")]


def test_openi_one_line_headers():
    text = ("COMPARISON: None.\nINDICATION: Positive TB test\nFINDINGS: The heart is normal. No effusion.\n"
            "IMPRESSION: Normal chest x-XXXX.")
    sections = split_sections(text)
    assert [s.name for s in sections] == ["findings", "impression"]
    assert text[sections[0].start:sections[0].end] == "The heart is normal. No effusion."
    assert text[sections[1].start:sections[1].end] == "Normal chest x-XXXX."


def test_no_header_falls_back_to_whole_text():
    text = "  Lungs are clear. No effusion.\n"
    assert split_sections(text) == [Section("text", 2, len(text) - 1)]
    assert text[2:len(text) - 1] == "Lungs are clear. No effusion."


def test_other_headers_only_fall_back_to_text():
    text = "INDICATION: cough\nCOMPARISON: none"
    assert split_sections(text) == [Section("text", 0, len(text))]


def test_empty_section_is_dropped_and_blank_text_gives_nothing():
    assert _bodies("FINDINGS:\n\nIMPRESSION: No effusion.") == [("impression", "No effusion.")]
    assert split_sections("") == []
    assert split_sections(" \n\t ") == []


def test_section_ends_at_next_header():
    text = "FINDINGS: Clear lungs.\nRECOMMENDATION(S): Follow-up CT.\nIMPRESSION: Normal."
    assert _bodies(text) == [("findings", "Clear lungs."), ("impression", "Normal.")]
