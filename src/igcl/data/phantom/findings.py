"""What one phantom study contains: sampled findings, their report status, and the CheXpert labels they imply.

A study is a list of :class:`Finding` (observations the report mentions as present or uncertain, and whether
and how the image shows them) plus the observations the report explicitly negates. Labels follow the CheXpert
labeler's rules applied to those mentions: positive -> 1.0, uncertain (hedged) -> -1.0, negated -> 0.0, not
mentioned -> blank (NaN); ``No Finding`` = 1.0 only when no pathology other than Support Devices is positive or
uncertain (blank otherwise); ``Support Devices`` = 1.0 when a device is described.

Image truth: a positive finding is always rendered at its severity; an uncertain one is rendered (mild) with
probability 1/2 -- which is why radiologists hedged -- so ``visible`` is the ground truth that CheXpert-style
``valid.csv`` labels and the lesion masks are made from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from igcl.labels import CHEXPERT_OBSERVATIONS

POSITIVE, UNCERTAIN, NEGATIVE = "positive", "uncertain", "negative"

LOBES: tuple[str, ...] = (
    "right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe", "lingula", "left lower lobe",
)
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")
EFFUSION_SIZES: dict[str, str] = {"mild": "small", "moderate": "moderate", "severe": "large"}
DEVICES: tuple[str, ...] = ("endotracheal tube", "enteric tube", "central venous catheter", "PICC", "pacemaker")
# Change words need a prior study; "None" means the report does not compare this finding.
CHANGES: tuple[str, ...] = ("new", "unchanged", "increased", "decreased")

# Chance that a study has each pathology (sampled independently; ~27 % of studies come out normal).
PREVALENCE: dict[str, float] = {
    "Cardiomegaly": 0.20,
    "Pleural Effusion": 0.20,
    "Atelectasis": 0.20,
    "Edema": 0.15,
    "Consolidation": 0.15,
    "Lung Opacity": 0.08,
    "Pneumothorax": 0.06,
    "Lung Lesion": 0.05,
    "Enlarged Cardiomediastinum": 0.05,
    "Fracture": 0.04,
    "Pleural Other": 0.03,
}
UNCERTAIN_RATE = 0.2
# Chance that an absent observation is explicitly negated in the report (the rest go unmentioned).
NEGATION_RATE: dict[str, float] = {
    "Pleural Effusion": 0.7, "Pneumothorax": 0.65, "Consolidation": 0.55, "Cardiomegaly": 0.5, "Edema": 0.3,
    "Enlarged Cardiomediastinum": 0.3, "Fracture": 0.1, "Atelectasis": 0.05, "Pneumonia": 0.15,
}


@dataclass(frozen=True)
class Finding:
    """One observation the report describes as present (``positive``) or possible (``uncertain``).

    ``location``: a lobe, ``left``/``right``/``bilateral``, ``cardiac silhouette``, ``mediastinum``,
    ``bilateral perihilar``, or the device name for Support Devices. ``severity``: mild/moderate/severe (or None).
    ``change``: new/unchanged/increased/decreased versus a prior (None without a prior). ``visible``: drawn in the
    image (and given a mask). ``shape_seed``: seeds the finding's shape jitter so image and mask agree.
    ``detail``: Lung Lesion ``nodule|1.4`` / ``mass|4.2`` (kind|cm); Fracture ``6|healed`` (rib|age);
    Atelectasis ``basilar`` / ``plate-like`` / ``subsegmental``.
    """

    observation: str
    status: str
    location: str
    severity: str | None
    change: str | None
    visible: bool
    shape_seed: int
    detail: str = ""

    @property
    def mask_key(self) -> str:
        """Key of this finding's lesion mask in ``<image stem>.masks.npz``: ``Observation|location``."""
        return f"{self.observation}|{self.location}"


@dataclass(frozen=True)
class StudyFindings:
    """A study's described findings (positive/uncertain) and the observations its report negates."""

    findings: tuple[Finding, ...]
    negated: tuple[str, ...]
    has_prior: bool

    @property
    def pathologies(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.observation != "Support Devices")

    @property
    def devices(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.observation == "Support Devices")

    @property
    def visible(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.visible)


def labels_from_findings(study: StudyFindings) -> dict[str, float]:
    """The 14 CheXpert labels (1.0 / -1.0 / 0.0 / NaN) that a labeler reading this study's report would give."""
    labels = {name: math.nan for name in CHEXPERT_OBSERVATIONS}
    for name in study.negated:
        labels[name] = 0.0
    for finding in study.findings:
        value = 1.0 if finding.status == POSITIVE else -1.0
        current = labels[finding.observation]
        # A positive mention wins over an uncertain one, as in the CheXpert labeler's aggregation.
        labels[finding.observation] = value if math.isnan(current) or current != 1.0 else current
    if not study.pathologies:
        labels["No Finding"] = 1.0
    return labels


def truth_from_findings(study: StudyFindings) -> dict[str, float]:
    """Binary image truth for the 14 observations (what a consensus read of the image says): 1.0 if drawn."""
    truth = {name: 0.0 for name in CHEXPERT_OBSERVATIONS}
    drawn = {f.observation for f in study.visible}
    # Pneumonia is drawn as its consolidation; it counts as present when that consolidation is visible.
    for finding in study.findings:
        if finding.observation == "Pneumonia" and any(f.observation == "Consolidation" and f.visible
                                                      for f in study.findings):
            drawn.add("Pneumonia")
    for name in drawn:
        truth[name] = 1.0
    truth["No Finding"] = 0.0 if drawn - {"Support Devices"} else 1.0
    return truth


def _status(rng: np.random.Generator) -> str:
    return UNCERTAIN if rng.random() < UNCERTAIN_RATE else POSITIVE


def _change(rng: np.random.Generator, has_prior: bool) -> str | None:
    if not has_prior or rng.random() < 0.5:
        return None
    return str(rng.choice(CHANGES))


def sample_findings(rng: np.random.Generator, *, has_prior: bool, portable: bool) -> StudyFindings:
    """Sample one study's findings. ``portable`` (AP, often ICU) studies carry devices more often."""
    findings: list[Finding] = []

    def add(observation: str, location: str, severity: str | None, detail: str = "",
            status: str | None = None) -> Finding:
        status = status or _status(rng)
        visible = status == POSITIVE or rng.random() < 0.5
        if status == UNCERTAIN and severity is not None:
            severity = "mild"
        finding = Finding(observation, status, location, severity, _change(rng, has_prior), visible,
                          int(rng.integers(2**31)), detail)
        findings.append(finding)
        return finding

    present = {name for name, p in PREVALENCE.items() if rng.random() < p}
    # Heart failure pattern: edema brings cardiomegaly and effusions along more often than chance.
    if "Edema" in present:
        if rng.random() < 0.4:
            present.add("Cardiomegaly")
        if rng.random() < 0.4:
            present.add("Pleural Effusion")

    if "Cardiomegaly" in present:
        add("Cardiomegaly", "cardiac silhouette", str(rng.choice(SEVERITIES, p=[0.45, 0.4, 0.15])))
    if "Enlarged Cardiomediastinum" in present:
        add("Enlarged Cardiomediastinum", "mediastinum", str(rng.choice(SEVERITIES[:2])))
    if "Edema" in present:
        add("Edema", "bilateral perihilar", str(rng.choice(SEVERITIES, p=[0.45, 0.4, 0.15])))
    if "Pleural Effusion" in present:
        side = str(rng.choice(["right", "left", "bilateral"], p=[0.4, 0.3, 0.3]))
        severity = str(rng.choice(SEVERITIES, p=[0.45, 0.4, 0.15]))
        add("Pleural Effusion", side, severity)
    if "Consolidation" in present:
        lobe = str(rng.choice(LOBES, p=[0.15, 0.12, 0.28, 0.13, 0.07, 0.25]))
        consolidation = add("Consolidation", lobe, str(rng.choice(SEVERITIES, p=[0.4, 0.4, 0.2])))
        # Reports often name the cause; it carries the consolidation's own certainty or less.
        if rng.random() < 0.5:
            status = UNCERTAIN if consolidation.status == UNCERTAIN or rng.random() < 0.5 else POSITIVE
            findings.append(Finding("Pneumonia", status, lobe, None, None, False, 0))
    if "Lung Opacity" in present:
        lobe = str(rng.choice(LOBES))
        add("Lung Opacity", lobe, str(rng.choice(SEVERITIES[:2])))
    if "Atelectasis" in present:
        side = str(rng.choice(["right", "left", "bilateral"], p=[0.3, 0.35, 0.35]))
        add("Atelectasis", side, str(rng.choice(SEVERITIES[:2], p=[0.7, 0.3])),
            detail=str(rng.choice(["basilar", "plate-like", "subsegmental"])))
    if "Pneumothorax" in present:
        side = str(rng.choice(["right", "left"]))
        add("Pneumothorax", side, str(rng.choice(SEVERITIES, p=[0.5, 0.35, 0.15])))
    if "Lung Lesion" in present:
        lobe = str(rng.choice(LOBES))
        if rng.random() < 0.3:
            detail = f"mass|{rng.uniform(3.5, 5.5):.1f}"
        else:
            detail = f"nodule|{rng.uniform(0.9, 2.5):.1f}"
        add("Lung Lesion", lobe, None, detail=detail)
    if "Fracture" in present:
        side = str(rng.choice(["right", "left"]))
        rib = int(rng.integers(4, 9))
        add("Fracture", side, None, detail=f"{rib}|{rng.choice(['acute', 'healed'])}")
    if "Pleural Other" in present:
        add("Pleural Other", str(rng.choice(["right", "left"])), None, detail="apical pleural thickening")

    device_rate = 0.55 if portable else 0.08
    if rng.random() < device_rate:
        count = 1 + int(rng.random() < 0.4) + int(rng.random() < 0.15)
        for device in rng.choice(DEVICES, size=count, replace=False, p=[0.3, 0.25, 0.2, 0.15, 0.1]):
            findings.append(Finding("Support Devices", POSITIVE, str(device), None, _change(rng, has_prior),
                                    True, int(rng.integers(2**31))))

    mentioned = {f.observation for f in findings}
    if mentioned & {"Consolidation", "Lung Opacity"}:
        mentioned.add("Pneumonia")  # an opacity's cause is left open rather than ruled out
    negated = tuple(name for name, p in NEGATION_RATE.items() if name not in mentioned and rng.random() < p)
    return StudyFindings(tuple(findings), negated, has_prior)
