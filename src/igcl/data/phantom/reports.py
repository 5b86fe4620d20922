"""Free-text radiology reports in the MIMIC-CXR style for a sampled :class:`StudyFindings`.

Layout (as in MIMIC-CXR's ``files/pXX/pSUBJECT/sSTUDY.txt``)::

                                     FINAL REPORT
     EXAMINATION:  CHEST (PA AND LAT)

     INDICATION:  ___-year-old woman with cough.

     TECHNIQUE:  Chest PA and lateral

     COMPARISON:  ___

     FINDINGS:

     <sentences, wrapped at 78 columns>

     IMPRESSION:

     <sentences>

About 18 % of reports have only an IMPRESSION and 7 % only FINDINGS. Every sentence carries exactly one
certainty: all observations it names are positive, or all hedged ("possible", "may represent", "cannot be
excluded", "questionable"), or all negated ("no", "without", "not enlarged", "normal"), so the CheXpert labels of
:func:`igcl.data.phantom.findings.labels_from_findings` are what a sentence-level labeler reads from the text.
Indications never name an observation.
"""

from __future__ import annotations

import textwrap

import numpy as np

from igcl.data.phantom.findings import EFFUSION_SIZES, POSITIVE, UNCERTAIN, Finding, StudyFindings

PARENCHYMAL = {"Consolidation", "Lung Opacity", "Atelectasis", "Edema", "Lung Lesion", "Pneumonia"}


def _pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(noun_phrase: str) -> str:
    return "an" if noun_phrase[:1].lower() in "aeiou" else "a"


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} or {items[1]}"
    return ", ".join(items[:-1]) + ", or " + items[-1]


# ---------------------------------------------------------------------------------------------------------------
# Noun phrases for one finding ("small left pleural effusion"), then a sentence wrapping it by status and change.


def _noun_phrase(f: Finding, rng: np.random.Generator) -> tuple[str, bool]:
    """(noun phrase, is_plural) naming the finding with its severity and location."""
    sev = f.severity or "mild"
    obs = f.observation
    if obs == "Pleural Effusion":
        size = EFFUSION_SIZES[sev] if rng.random() < 0.85 or sev != "mild" else "trace"
        if f.location == "bilateral":
            return f"{size} bilateral pleural effusions", True
        return _pick(rng, [f"{size} {f.location} pleural effusion", f"{size} {f.location}-sided pleural effusion",
                           f"{size} {f.location} effusion"]), False
    if obs == "Pneumothorax":
        size = {"mild": _pick(rng, ["small", "tiny"]), "moderate": "moderate", "severe": "large"}[sev]
        apical = " apical" if sev == "mild" and rng.random() < 0.5 else ""
        return f"{size} {f.location}{apical} pneumothorax", False
    if obs == "Cardiomegaly":
        return _pick(rng, [f"{sev} cardiomegaly", f"{sev} enlargement of the cardiac silhouette",
                           f"{sev} enlargement of the heart"]), True
    if obs == "Enlarged Cardiomediastinum":
        return _pick(rng, [f"{sev} widening of the mediastinum", f"{sev} mediastinal widening",
                           f"{sev} enlargement of the cardiomediastinal silhouette"]), True
    if obs == "Edema":
        kind = _pick(rng, ["pulmonary edema", "interstitial edema"]) if sev == "mild" else "pulmonary edema"
        return _pick(rng, [f"{sev} {kind}", f"{sev} {kind} with perihilar haziness",
                           f"{sev} {kind} with vascular congestion"]), True
    if obs == "Consolidation":
        adj = {"mild": "patchy", "moderate": _pick(rng, ["focal", "airspace"]), "severe": "dense"}[sev]
        return _pick(rng, [f"{adj} consolidation in the {f.location}", f"{adj} {f.location} consolidation",
                           f"{adj} consolidation of the {f.location}"]), True
    if obs == "Lung Opacity":
        adj = _pick(rng, ["patchy", "hazy", "ill-defined"]) if sev == "mild" else _pick(rng, ["patchy", "streaky"])
        return _pick(rng, [f"{adj} opacity in the {f.location}", f"{adj} {f.location} opacity",
                           f"{adj} opacities in the {f.location}"]), False
    if obs == "Atelectasis":
        amount = "minimal" if sev == "mild" and rng.random() < 0.5 else sev
        where = {"right": "right", "left": "left", "bilateral": "bibasilar"}[f.location]
        if f.detail == "plate-like":
            base = "both lung bases" if f.location == "bilateral" else f"the {f.location} lung base"
            return f"{amount} plate-like atelectasis at {base}", True
        if f.detail == "subsegmental":
            base = "both lower lobes" if f.location == "bilateral" else f"the {f.location} lower lobe"
            return f"{amount} subsegmental atelectasis in {base}", True
        return f"{amount} {where} basilar atelectasis".replace("bibasilar basilar", "bibasilar"), True
    if obs == "Lung Lesion":
        kind, cm = f.detail.split("|")
        return _pick(rng, [f"{cm} cm {kind} in the {f.location}", f"{cm} cm {f.location} {kind}"]), False
    if obs == "Fracture":
        rib, age = f.detail.split("|")
        adj = "healed" if age == "healed" else _pick(rng, ["acute", "minimally displaced"])
        return _pick(rng, [f"{adj} fracture of the {f.location} {_ordinal(int(rib))} posterior rib",
                           f"{adj} {f.location} {_ordinal(int(rib))} rib fracture"]), False
    if obs == "Pleural Other":
        return _pick(rng, [f"{f.location} apical pleural thickening",
                           f"pleural thickening at the {f.location} apex"]), True
    if obs == "Pneumonia":
        return "pneumonia", True
    raise ValueError(f"no phrasing for observation {obs!r}")


def _positive_sentence(np_: str, plural: bool, change: str | None, rng: np.random.Generator) -> str:
    art = "" if plural else _article(np_) + " "
    be = "are" if np_.endswith("effusions") or np_.endswith("opacities") else "is"
    has = "have" if be == "are" else "has"
    there = "There are" if be == "are" else "There is"
    if change == "new":
        return _pick(rng, [f"New {np_}.", f"{there} {'' if plural else 'a '}new {np_}.",
                           f"{_cap(np_)} {be} new since the prior study."])
    if change == "unchanged":
        return _pick(rng, [f"Unchanged {np_}.", f"{_cap(np_)} {be} unchanged from prior.", f"Stable {np_}.",
                           f"{_cap(np_)} {be} similar to the prior exam."])
    if change == "increased":
        return _pick(rng, [f"{_cap(np_)} {has} increased since the prior study.", f"Interval increase in {np_}.",
                           f"{_cap(np_)}, increased compared to prior."])
    if change == "decreased":
        return _pick(rng, [f"{_cap(np_)} {has} decreased since the prior study.", f"Interval decrease in {np_}.",
                           f"{_cap(np_)}, improved compared to prior."])
    return _pick(rng, [f"{_cap(np_)}.", f"{there} {art}{np_}.", f"{_cap(np_)} {be} present.",
                       f"{_cap(np_)} {be} seen.", f"{_cap(np_)} {be} noted."])


def _uncertain_sentence(np_: str, plural: bool, f: Finding, rng: np.random.Generator) -> str:
    art = "" if plural else _article(np_) + " "
    options = [f"Possible {np_}.", f"{_cap(art)}{np_} cannot be excluded.", f"Cannot exclude {np_}.",
               f"Questionable {np_}.", f"Findings may represent {art}{np_}.", f"{_cap(np_)} is possible."]
    if f.observation == "Pleural Effusion" and f.location != "bilateral":
        options.append(f"Blunting of the {f.location} costophrenic angle may represent a small effusion.")
    if f.observation == "Consolidation":
        options.append(f"Subtle {f.location} consolidation is possibly present.")
    if f.observation == "Atelectasis":
        options.append(f"Streaky basilar densities may reflect {np_}.")
    return _pick(rng, options)


def _device_sentence(f: Finding, rng: np.random.Generator) -> str:
    placed = f.change == "new"
    if f.location == "endotracheal tube":
        cm = int(rng.integers(3, 7))
        s = _pick(rng, [f"Endotracheal tube terminates {cm} cm above the carina.",
                        f"ET tube tip is approximately {cm} cm above the carina.",
                        "An endotracheal tube is in standard position."])
        return f"Interval intubation.  {s}" if placed else s
    if f.location == "enteric tube":
        s = _pick(rng, ["Enteric tube courses below the diaphragm with the tip in the stomach.",
                        "Nasogastric tube tip is in the stomach.", "An NG tube extends into the stomach."])
        return f"Interval placement of an enteric tube.  {s}" if placed else s
    if f.location == "central venous catheter":
        return _pick(rng, ["Right internal jugular central venous catheter terminates in the mid SVC.",
                           "Right IJ central line tip is in the lower SVC.",
                           "A right internal jugular line ends in the SVC."])
    if f.location == "PICC":
        return _pick(rng, ["Right PICC line terminates at the cavoatrial junction.",
                           "A right upper extremity PICC ends in the lower SVC.",
                           "Right-sided PICC with tip in the distal SVC."])
    if f.location == "pacemaker":
        return _pick(rng, ["Left chest wall pacemaker with leads in the right atrium and right ventricle.",
                           "Dual-lead pacemaker device in the left chest wall, leads in standard position.",
                           "Left-sided pacer with leads terminating in the right atrium and ventricle."])
    raise ValueError(f"no phrasing for device {f.location!r}")


def finding_sentence(f: Finding, rng: np.random.Generator) -> str:
    """One sentence describing ``f`` with its certainty, severity, location and change."""
    if f.observation == "Support Devices":
        return _device_sentence(f, rng)
    if f.observation == "Pneumonia":
        if f.status == POSITIVE:
            return _pick(rng, ["Findings are consistent with pneumonia.", "This is compatible with pneumonia.",
                               "Appearance is consistent with pneumonia."])
        return _pick(rng, ["This may represent pneumonia.", "Pneumonia cannot be excluded.",
                           "Possible early pneumonia.", "Infection such as pneumonia is possible."])
    np_, plural = _noun_phrase(f, rng)
    if f.status == UNCERTAIN:
        return _uncertain_sentence(np_, plural, f, rng)
    return _positive_sentence(np_, plural, f.change, rng)


# ---------------------------------------------------------------------------------------------------------------
# Negations, grouped as radiologists write them.

NEGATED_NAMES = {"Consolidation": "focal consolidation", "Pleural Effusion": "pleural effusion",
                 "Pneumothorax": "pneumothorax", "Edema": "pulmonary edema", "Atelectasis": "atelectasis",
                 "Pneumonia": "pneumonia"}


def negation_sentences(study: StudyFindings, rng: np.random.Generator) -> list[str]:
    """Sentences negating ``study.negated`` (all of them, each sentence purely negative)."""
    out: list[str] = []
    negated = list(study.negated)
    lungs_clear_ok = not any(f.observation in PARENCHYMAL for f in study.findings)
    lung = [n for n in negated if n in NEGATED_NAMES and n != "Pneumonia"]
    if lung:
        items = [NEGATED_NAMES[n] for n in lung]
        rng.shuffle(items)
        if len(items) > 1 and rng.random() < 0.25:
            out += [_pick(rng, [f"No {i}.", f"No {i} is seen.", f"There is no {i}."]) for i in items]
        else:
            listed = _join(items)
            options = [f"No {listed}.", f"There is no {listed}.", f"There is no evidence of {listed}.",
                       f"No {listed} is seen.", f"No {listed} is identified."]
            if lungs_clear_ok:
                options += [f"The lungs are clear without {listed}.", f"Lungs are clear, without {listed}."]
            out.append(_pick(rng, options))
    heart = "Cardiomegaly" in negated
    mediastinum = "Enlarged Cardiomediastinum" in negated
    if heart and mediastinum and rng.random() < 0.6:
        out.append(_pick(rng, ["Heart size and mediastinal contours are normal.",
                               "The heart size and mediastinal contours are within normal limits.",
                               "Normal heart size and mediastinal silhouette."]))
    else:
        if heart:
            out.append(_pick(rng, ["Heart size is normal.", "The heart is normal in size.", "Normal heart size.",
                                   "The cardiac silhouette is not enlarged.", "No cardiomegaly."]))
        if mediastinum:
            out.append(_pick(rng, ["The mediastinal contours are normal.",
                                   "Mediastinal and hilar contours are unremarkable.",
                                   "The cardiomediastinal silhouette is within normal limits."]))
    if "Fracture" in negated:
        out.append(_pick(rng, ["No displaced rib fractures.", "No acute rib fracture is identified."]))
    if "Pneumonia" in negated:
        out.append(_pick(rng, ["No evidence of pneumonia.", "No radiographic evidence of pneumonia."]))
    return out


NORMAL_IMPRESSIONS = ("No acute cardiopulmonary process.", "No acute intrathoracic process.",
                      "No radiographic evidence of acute cardiopulmonary disease.",
                      "No acute cardiopulmonary abnormality.", "Normal chest radiograph.")
INDICATIONS = ("shortness of breath", "cough", "chest pain", "fever", "dyspnea on exertion", "hypoxia",
               "preoperative evaluation", "fall, chest wall pain", "weakness", "tachycardia",
               "follow-up", "altered mental status", "status post line placement", "evaluate for acute process",
               "sepsis, evaluate for source", "history of heart failure with increasing dyspnea")

ORDER = ("Support Devices", "Consolidation", "Pneumonia", "Lung Opacity", "Lung Lesion", "Atelectasis", "Edema",
         "Pleural Effusion", "Pneumothorax", "Pleural Other", "Cardiomegaly", "Enlarged Cardiomediastinum",
         "Fracture")


def _paragraph(sentences: list[str]) -> str:
    text = "  ".join(sentences)
    return "\n".join(textwrap.wrap(text, width=77, initial_indent=" ", subsequent_indent=" ",
                                   break_on_hyphens=False))


def _ordered(study: StudyFindings) -> list[Finding]:
    """Findings in reading order; a Pneumonia mention directly follows its consolidation."""
    return sorted(study.findings, key=lambda f: ORDER.index(f.observation))


def write_report(study: StudyFindings, rng: np.random.Generator, *, projection: str, lateral: bool,
                 sex: str) -> str:
    """The report text (MIMIC-CXR layout) for ``study``; ``projection`` PA or AP; ``sex`` "M" or "F"."""
    if projection == "AP":
        exam, technique = "CHEST (PORTABLE AP)", _pick(rng, ["Portable AP upright chest radiograph.",
                                                            "Single portable frontal view of the chest.",
                                                            "AP portable chest"])
    elif lateral:
        exam, technique = _pick(rng, ["CHEST (PA AND LAT)", "CHEST (PRE-OP PA AND LAT)"]), "Chest PA and lateral"
    else:
        exam, technique = "CHEST (PA)", "Single PA view of the chest."
    person = "man" if sex == "M" else "woman"
    indication = _pick(rng, [f"___-year-old {person} with {_pick(rng, INDICATIONS)}.",
                             f"___{sex} with {_pick(rng, INDICATIONS)}",
                             f"History: ___{sex} with {_pick(rng, INDICATIONS)}"])
    comparison = _pick(rng, ["___", "Chest radiograph from ___", "Prior study from ___."]) if study.has_prior \
        else _pick(rng, ["None.", "None available."])

    body = [finding_sentence(f, rng) for f in _ordered(study)] + negation_sentences(study, rng)
    pathologies = [f for f in _ordered(study) if f.observation != "Support Devices"]
    impression = [finding_sentence(f, rng) for f in pathologies]
    if not impression:
        impression = [_pick(rng, NORMAL_IMPRESSIONS)]
    elif "Pneumothorax" in study.negated and rng.random() < 0.5:
        impression.append("No pneumothorax.")
    if len(impression) > 1 and rng.random() < 0.4:
        impression = [f"{i}. {s}" for i, s in enumerate(impression, 1)]

    layout = rng.random()
    sections = []
    if layout < 0.18:
        sections.append(("IMPRESSION", body if pathologies else body + impression))
    elif layout < 0.25:
        sections.append(("FINDINGS", body if body else ["The lungs are clear."]))
    else:
        sections += [("FINDINGS", body if body else ["The lungs are clear."]), ("IMPRESSION", impression)]
    lines = [" " * 33 + "FINAL REPORT", f" EXAMINATION:  {exam}", " ", f" INDICATION:  {indication}", " ",
             f" TECHNIQUE:  {technique}", " ", f" COMPARISON:  {comparison}", " "]
    for name, sentences in sections:
        lines += [f" {name}: ", " ", _paragraph(sentences), " "]
    return "\n".join(lines) + "\n"
