"""Phantom reports read like MIMIC-CXR reports, and their text agrees with the CheXpert labels.

The agreement check is an independent keyword + negation/hedge-cue reader, not the generator's own logic.
"""

import math
import re

import pytest

from igcl.data.phantom.config import PhantomConfig
from igcl.data.phantom.study import MIMIC, sample_study, sample_subject, subject_table

NEGATION = re.compile(r"\b(no|without|not)\b|\bnormal\b|unremarkable|within normal limits", re.I)
HEDGE = re.compile(r"\b(possible|possibly|may|cannot be excluded|cannot exclude|questionable)\b", re.I)
KEYWORDS = {
    "Pleural Effusion": re.compile(r"effusion", re.I),
    "Pneumothorax": re.compile(r"pneumothora", re.I),
    "Consolidation": re.compile(r"consolidat", re.I),
    "Edema": re.compile(r"edema", re.I),
    "Atelectasis": re.compile(r"atelecta", re.I),
    "Cardiomegaly": re.compile(r"cardiomegaly|\bheart\b|cardiac silhouette", re.I),
}


def studies(n=400, seed=0):
    cfg = PhantomConfig(seed=seed, pretrain_studies=n)
    table = subject_table(cfg, MIMIC, n)
    for i in range(n):
        subject = sample_subject(cfg, MIMIC, int(table.subject_of[i]))
        yield sample_study(cfg, MIMIC, i, subject, int(table.order[i]))


def body_sentences(report: str) -> list[str]:
    """Sentences of the FINDINGS and IMPRESSION sections (the header sections never name observations)."""
    start = min(i for i in (report.find("FINDINGS:"), report.find("IMPRESSION:")) if i >= 0)
    text = re.sub(r"\s+", " ", report[start:].replace("FINDINGS:", " ").replace("IMPRESSION:", " "))
    return [s.strip() for s in re.split(r"(?<=\.)\s+", text) if s.strip()]


def read_label(sentences: list[str], keyword: re.Pattern) -> float:
    mentions = [s for s in sentences if keyword.search(s)]
    if not mentions:
        return math.nan
    if any(not NEGATION.search(s) and not HEDGE.search(s) for s in mentions):
        return 1.0
    if any(HEDGE.search(s) for s in mentions):
        return -1.0
    return 0.0


@pytest.fixture(scope="module")
def sample():
    return list(studies())


def test_report_text_agrees_with_labels(sample):
    checked = {name: {1.0: 0, 0.0: 0, -1.0: 0} for name in KEYWORDS}
    for study in sample:
        sentences = body_sentences(study.report)
        for name, keyword in KEYWORDS.items():
            expected = study.labels[name]
            got = read_label(sentences, keyword)
            assert (math.isnan(expected) and math.isnan(got)) or expected == got, (
                f"study {study.index} {name}: label {expected}, text says {got}\n{study.report}")
            if not math.isnan(expected):
                checked[name][expected] += 1
    # every label value really occurred for the main observations
    for name in ("Pleural Effusion", "Consolidation", "Edema", "Cardiomegaly"):
        assert min(checked[name].values()) > 0, (name, checked[name])


def test_normal_studies_say_so(sample):
    normal = [s for s in sample if s.labels["No Finding"] == 1.0]
    assert normal
    for study in normal:
        for keyword in KEYWORDS.values():
            assert read_label(body_sentences(study.report), keyword) in (0.0,) or math.isnan(
                read_label(body_sentences(study.report), keyword))
    impressions = [s.report for s in normal if "IMPRESSION:" in s.report]
    assert any("No acute cardiopulmonary process." in r for r in impressions)


def test_reports_have_mimic_sections_and_variety(sample):
    reports = [s.report for s in sample]
    for report in reports:
        assert report.lstrip().startswith("FINAL REPORT")
        for section in ("EXAMINATION:", "INDICATION:", "TECHNIQUE:", "COMPARISON:"):
            assert section in report
        assert "FINDINGS:" in report or "IMPRESSION:" in report
    impression_only = [r for r in reports if "IMPRESSION:" in r and "FINDINGS:" not in r]
    assert 0.08 < len(impression_only) / len(reports) < 0.3
    text = " ".join(re.sub(r"\s+", " ", r) for r in reports)
    for phrase in ("left lower lobe", "right upper lobe", "bilateral", "cannot be excluded", "Possible",
                   "unchanged", "increased", "Endotracheal tube", "PICC", "pacemaker", "No pleural effusion",
                   "pneumothorax", "cm above the carina", "since the prior"):
        assert phrase.lower() in text.lower(), phrase
    # many distinct sentences, not a handful of templates
    sentences = {s for r in reports for s in body_sentences(r)}
    assert len(sentences) > 300
    # comparisons only when there is a prior
    for study in sample:
        if study.order == 0:
            assert "COMPARISON:  None" in study.report
            assert not re.search(r"unchanged|since the prior|compared to prior|Interval", study.report)


def test_laterality_and_lobe_in_text_match_findings(sample):
    for study in sample:
        text = re.sub(r"\s+", " ", study.report)
        for f in study.findings.findings:
            if f.observation == "Consolidation":
                assert f.location in text
            if f.observation in ("Pleural Effusion", "Pneumothorax") and f.location != "bilateral":
                assert f"{f.location}" in text and (f"{f.location} " in text or f"{f.location}-" in text)
