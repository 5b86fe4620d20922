"""igcl's radiology lexicon: the words the report parser knows, written from chest radiology practice.

Every entry is lower-case. Single words are looked up per token; multi-word entries (``endotracheal tube``) are
matched as phrases. Noun entries get their plural added automatically (:func:`plural_forms`).

Word classes (how the parser uses them):

- ``FINDINGS``: observation heads (OBS-*): diseases, findings, devices. ``DEVICE_WORDS`` is the device subset.
- ``DESCRIPTORS``: observation descriptors (OBS-*): severity, size, change, chronicity, character, and the
  predicate words of normal reports (normal, clear, unremarkable). They *modify* the observation they describe, or,
  with none, are themselves the observation (``lungs are clear``: *clear* located_at *lungs*).
- Anatomy (ANAT-DP) in three roles: ``ANAT_POSITION`` (left, lower, bilateral...), ``ANAT_ORGAN`` (lung, lobe,
  heart, cardiac, pleural...) and ``ANAT_PART`` (silhouette, contour, size, base, apex...). In a phrase of them the
  last organ or part word is the head and the others modify it, as RadGraph annotates (RADGRAPH_SCHEMA.md):
  *left* and *lower* modify *lobe*, *cardiac* modifies *silhouette*, *lung* modifies *base*.
- One token per entity, except hyphenated compounds and ``in place``: device names are a head and its modifiers
  (``DEVICE_MODIFIERS``: *nasogastric* modify → *tube*).
- Words about the exam or the report (``EXAM_MODIFIERS`` before ``VIEW_WORDS``, ``REPORT_WORDS`` before
  ``COMMUNICATION_VERBS``) are not entities.
- Assertion cues (never entities): negation and hedging, before (``PRE``) or after (``POST``) what they scope;
  ``PSEUDO_NEGATION`` (``no change``) negates only itself; scope ends at ``TERMINATORS`` and, for cues before
  their scope, at a finite verb (``VERB_TERMINATORS``) once an entity has been seen.
- ``SUGGESTIVE_CUES``: ``X <cue> Y`` makes ``X suggestive_of Y``.
- Gaps: ``PREDICATE_GAP`` (words between a subject and its predicate: ``lungs are again clear``), ``LOCATION_GAP``
  (between a finding and its anatomy: ``opacity in the right lower lobe``), ``OF_MODIFIERS`` (``areas of``,
  ``position of``, ``improvement in`` a finding), ``ANAT_COORDINATORS`` (``cardiac and mediastinal``).
- ``PRIOR_STUDY_WORDS``: a two-way cue followed by them (``not seen on prior exams``) is about the earlier study.
- ``OBSERVATION_WORDS`` and the anatomy-dependent sets at the end: the words of the label table
  (:data:`igcl.reports.labels.LABEL_RULES`) that maps graph mentions to the 14 CheXpert observations (after CheXpert's own mention lists).

Sources: chest radiograph reporting vocabulary, RadGraph's annotation conventions (RADGRAPH_SCHEMA.md), and the
words that the parser left unknown on the OpenI reports.
"""

from __future__ import annotations


def plural_forms(word: str) -> tuple[str, ...]:
    """``word`` and its English plural(s): opacity → opacities, effusion → effusions, apex → apices, ..."""
    irregular = {"apex": ("apices", "apexes"), "hilum": ("hila", "hilums"), "sulcus": ("sulci",), "vertebra": ("vertebrae",),
                 "bulla": ("bullae",), "atelectasis": ("atelectases",), "pneumothorax": ("pneumothoraces",),
                 "diaphragm": ("diaphragms",), "hemithorax": ("hemithoraces",), "costophrenic": (),
                 "thorax": ("thoraces",), "emphysema": (), "edema": (), "cardiomegaly": (), "fibrosis": (),
                 "scarring": (), "sclerosis": (), "scoliosis": (), "kyphosis": (), "pneumonia": ("pneumonias",),
                 "vasculature": (), "parenchyma": (), "mediastinum": (), 
                 "chf": (), "copd": (), "air": (), "gas": (), "fluid": ("fluids",), "sternotomy": ("sternotomies",)}
    if word in irregular:
        return (word, *irregular[word])
    last = word.rsplit(" ", 1)[-1]
    if last.endswith(("s", "x", "sh", "ch")):
        plural = word + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        plural = word[:-1] + "ies"
    else:
        plural = word + "s"
    return (word, plural)


# --- observations ---------------------------------------------------------------------------------------------
# Devices (CheXpert "Support Devices" and other hardware), one word each: a device name of several words is its
# head here and its kind in DEVICE_MODIFIERS ("nasogastric tube"), as RadGraph splits it.
DEVICE_WORDS: frozenset[str] = frozenset({
    "tube", "line", "catheter", "picc", "port", "port-a-cath", "portacath", "pacemaker", "pacer",
    "defibrillator", "aicd", "icd", "lead", "wire", "drain", "stent", "ett", "ngt", "ogt", "dobhoff", "tubing",
    "shunt", "tracheostomy", "trach", "swan-ganz", "cvc", "introducer", "sheath", "hardware", "clip", "suture",
    "staple", "screw", "plate", "rod", "prosthesis", "device", "replacement", "cabg", "coil", "generator",
    "electrode", "filter", "pump", "iabp", "impella", "lvad", "stimulator", "arthroplasty", "mediport",
})
# Words that name the kind of a device before its head (RadGraph: *nasogastric* modify → *tube*): observation
# descriptors, one token each. (Anatomy words keep their class: "chest tube", "internal jugular line".)
DEVICE_MODIFIERS: frozenset[str] = frozenset({
    "nasogastric", "orogastric", "endotracheal", "et", "ng", "og", "enteric", "feeding", "transvenous",
    "monitoring", "support", "dialysis", "hemodialysis", "balloon", "cerclage", "prosthetic", "mechanical",
    "pigtail", "pacing", "triple-lumen", "double-lumen", "dual-lumen", "tunneled",
})

# Observation heads other than devices.
FINDING_WORDS: frozenset[str] = frozenset({
    "effusion", "pneumothorax", "hydropneumothorax", "hemothorax", "hydrothorax", "consolidation", "opacity",
    "opacification", "density", "infiltrate", "infiltration", "atelectasis", "edema", "cardiomegaly", "pneumonia",
    "infection", "aspiration", "mass", "nodule", "lesion", "tumor", "neoplasm", "carcinoma", "malignancy",
    "metastasis", "granuloma", "calcification", "scarring", "scar", "fibrosis", "emphysema", "copd",
    "hyperinflation", "hyperexpansion", "fracture", "deformity", "spondylosis", "osteophyte", "degeneration",
    "thickening", "congestion", "chf", "failure", "tortuosity", "ectasia", "atherosclerosis", "calcinosis",
    "hernia", "kyphosis", "scoliosis", "elevation", "collapse", "hemorrhage", "contusion", "air", "gas", "fluid",
    "pneumoperitoneum", "pneumomediastinum", "emphysema", "cyst", "bulla", "bleb", "cavity", "cavitation",
    "adenopathy", "lymphadenopathy", "prominence", "enlargement", "widening", "blunting", "sternotomy",
    "thoracotomy", "lobectomy", "pneumonectomy", "mastectomy", "cholecystectomy", "surgery", "process",
    "disease", "abnormality", "finding", "change", "changes", "pathology", "markings", "marking", "pattern",
    "haziness", "plaque", "overload", "bronchiectasis", "nodularity", "lucency", "deviation", "shift",
    "displacement", "dilatation", "dilation", "aneurysm", "loss", "injury", "sarcoidosis",
    "tuberculosis", "tb", "histoplasmosis", "osteopenia", "arthritis", "arthropathy", "spur", "loculation",
    "hypoinflation", "hypoventilation", "insufflation", "engorgement", "redistribution", "cephalization",
    "distention", "distension", "narrowing", "thickness", "lymphangitic", "metastases", "osteoporosis",
    "embolism", "infarct", "infarction", "abscess", "empyema", "bronchitis", "asthma", "pleurisy", "ards",
    "bronchogram",
    "pneumatocele", "subsegmental", "crowding", "eventration", "sequela", "sequelae", "fusion", "curvature",
    "dextroscoliosis", "levoscoliosis", "aeration", "spurring", "irregularity", "collection", "dislocation",
    "obscuration", "wedging", "pneumonitis", "fullness", "hypertension", "pectus", "fat", "tubing", "shunt",
    "indistinctness", "plethora", "hyperlucency", "demineralization", "obstruction", "air trapping", "retraction",
    "osteoarthritis", "foreign body", "bullet", "lymphoma", "hyperostosis", "sclerosis", "fragment",
})
FINDINGS: frozenset[str] = frozenset(form for w in FINDING_WORDS | DEVICE_WORDS for form in plural_forms(w))

DESCRIPTORS: frozenset[str] = frozenset({
    # severity / size / amount
    "mild", "mildly", "minimal", "minimally", "slight", "slightly", "small", "tiny", "trace", "moderate",
    "moderately", "large", "severe", "severely", "marked", "markedly", "massive", "extensive", "significant",
    "mild-to-moderate", "moderate-to-severe", "mild-moderate", "moderate-severe", "borderline", "subtle",
    "minor", "substantial", "considerable", "prominent", "enlarged", "big", "huge", "increasing",
    # change / comparison
    "new", "newly", "increased", "increase", "decreased", "decrease", "decreasing", "improved", "improving",
    "improvement", "worsened", "worsening", "worse", "unchanged", "stable", "stably", "persistent", "persistently",
    "persists", "persisting", "residual", "resolving", "interval", "redemonstrated", "re-demonstrated",
    "similar", "progression", "progressed", "progressive", "developing", "evolving", "recurrent", "known",
    # chronicity
    "acute", "chronic", "subacute", "old", "healed", "healing", "remote", "longstanding", "long-standing",
    # character
    "focal", "diffuse", "diffusely", "patchy", "streaky", "linear", "nodular", "reticular", "reticulonodular",
    "confluent", "multifocal", "hazy", "ill-defined", "well-defined", "round",
    "rounded", "irregular", "calcified", "noncalcified", "non-calcified", "cavitary", "bullous", "degenerative",
    "atherosclerotic", "tortuous", "ectatic", "elevated", "widened", "hyperinflated", "hyperexpanded",
    "flattened", "flattening", "blunted", "low", "high", "lower-lying", "displaced", "nondisplaced", "non-displaced",
    "compression", "wedge", "dense", "discrete", "vague", "faint", "scattered", "multiple", "several",
    "numerous", "few", "coarse", "coarsened", "fine", "consolidative", "atelectatic", "infectious",
    "inflammatory", "postoperative", "post-operative", "postsurgical", "surgical", "appropriate",
    "satisfactory", "standard", "unremarkable", "normal", "clear", "well-expanded", "expanded", "low-lying",
    "abnormal", "obscured", "obscuring", "layering", "loculated", "small-to-moderate",
    "moderate-sized", "small-sized", "large-sized", "medium", "moderate-size", "minimal-to-mild", "unfolded",
    "unfolding", "hypoinflated", "hyperlucent", "lucent", "opacified", "collapsed",
    "poorly", "enlarging", "active", "intact", "granulomatous", "inflated", "emphysematous", "superimposed",
    "multilevel", "arthritic", "overt", "metastatic", "obstructive", "aerated", "dilated", "atypical", "calcific",
    "exaggerated", "nonspecific", "non-specific", "sclerotic", "asymmetric", "indistinct", "destructive",
    "tuberculous", "cystic", "fibrotic", "senescent", "accentuated", "underinflated", "well-inflated",
    "engorged", "congestive", "distended", "plethoric", "deviated", "shifted", "compressive", "passive",
    "bandlike", "band-like", "platelike", "plate-like", "curvilinear", "early", "kyphotic", "scoliotic", "reactive",
    "symmetric", "generalized", "radiopaque", "partial", "diminished",
    # quantifiers and attributes that RadGraph links to the finding they describe ("areas of atelectasis",
    # "position of the PICC line", "endotracheal tube tip")
    "area", "areas", "focus", "foci", "amount", "degree", "position", "placement", "course", "tip", "tips",
    "appearance", "configuration", "positions", "placements", "amounts", "degrees",
    "configurations", "appearances",
    # comparatives that describe a finding ("little change", "more opacity", "greater on the left")
    "more", "greater", "less", "little", "in place",
    *DEVICE_MODIFIERS,
})

# --- anatomy --------------------------------------------------------------------------------------------------
ANAT_POSITION: frozenset[str] = frozenset({
    "left", "right", "bilateral", "bilaterally", "both", "upper", "lower", "mid", "middle", "midline", "median",
    "basal", "basilar", "bibasilar", "bibasal", "apical", "biapical", "perihilar", "peribronchial", "retrocardiac",
    "subsegmental", "segmental", "lateral", "medial", "anterior", "posterior", "superior", "inferior", "central",
    "peripheral", "distal", "proximal", "ipsilateral", "contralateral", "right-sided", "left-sided",
    "thoracic", "lumbar", "cervical", "dorsal", "infrahilar", "suprahilar", "paratracheal", "paramediastinal",
    "subpleural", "subcutaneous", "lingular", "lobar", "multilobar", "unilateral", "cephalad", "caudal",
    "dependent", "posterolateral", "anterolateral", "inferolateral", "upper-lobe", "lower-lobe",
    "infraclavicular", "supraclavicular", "subdiaphragmatic", "subsegmental", "juxtahilar", "midthoracic",
    "intrathoracic", "descending", "ascending", "retrosternal", "epicardial", "intraperitoneal", "hiatal",
    "vena", "internal", "external", "soft", "lymph",
})
ANAT_ORGAN_WORDS: frozenset[str] = frozenset({
    "lung", "lobe", "lingula", "heart", "cardiac", "pleural", "pleura", "pulmonary", "hilar", "hilum", "hila",
    "mediastinal", "mediastinum", "cardiomediastinal", "cardiopulmonary", "costophrenic", "cardiophrenic",
    "hemidiaphragm", "diaphragm", "diaphragmatic", "chest", "thorax", "hemithorax", "parenchyma", "parenchymal",
    "airspace", "air space", "aorta", "aortic", "trachea", "tracheal", "carina", "bronchus", "bronchi",
    "bronchial", "bronchovascular", "vascular", "vessel", "vasculature", "spine", "vertebra", "vertebral", "rib",
    "clavicle", "scapula", "humerus", "shoulder", "sternum", "sternal", "abdomen", "abdominal", "stomach",
    "gastric", "bowel", "liver", "spleen", "esophagus", "esophageal", "svc", "cava", "cavoatrial", "atrium", "atrial", "ventricle", "ventricular", "pericardial", "pericardium",
    "interstitium", "alveolar", "osseous", "bony", "skeletal", "breast", "axilla", "axillary",
    "neck", "jugular", "ij", "subclavian", "brachiocephalic", "azygos", "arteries", "artery",
    "arterial", "venous", "vein", "thyroid", "tissue", "fissure", "pulmonic", "cardiothoracic", "t-spine",
    "thoracolumbar", "glenohumeral", "acromioclavicular", "rotator", "costovertebral", "hilus",
    "lungs", "body", "bones", "bone", "skin", "muscle", "interstitial", "extremity", "node",
    "midlung", "disc", "joint", "airway", "humeral", "coronary", "spinal", "vascularity", "septal", "caval", "valve",
    "endplate", "marrow", "mitral", "glenoid", "femur", "femoral", "hip", "knee", "ankle", "pelvis",
})
ANAT_PART_WORDS: frozenset[str] = frozenset({
    "silhouette", "contour", "size", "volume", "base", "apex", "angle", "margin", "border", "region", "zone",
    "field", "knob", "arch", "outline", "surface", "segment", "junction", "wall", "level", "aspect", "portion",
    "recess", "sulcus", "space", "structure", "shadow", "caliber", "width", "dome", "side",
    "periphery", "margination",
})
ANAT_ORGAN: frozenset[str] = frozenset(form for w in ANAT_ORGAN_WORDS for form in plural_forms(w))
ANAT_PART: frozenset[str] = frozenset(form for w in ANAT_PART_WORDS for form in plural_forms(w))

# A word can be in only one class; these precedences settle the overlaps above (e.g. "interstitial", "alveolar",
# "subsegmental" are anatomy in RadGraph when they locate a finding).
FINDINGS_ONLY = FINDINGS - ANAT_ORGAN - ANAT_PART - ANAT_POSITION
DESCRIPTORS_ONLY = DESCRIPTORS - FINDINGS - ANAT_ORGAN - ANAT_PART - ANAT_POSITION

# --- assertion cues ---------------------------------------------------------------------------------------------
# Multi-word cues are matched as phrases (tuples of lower-case tokens).
NEGATION_PRE: frozenset[tuple[str, ...]] = frozenset({
    ("no",), ("without",), ("negative", "for"), ("free", "of"), ("clear", "of"), ("absence", "of"),
    ("absent",), ("resolution", "of"), ("resolved",), ("removal", "of"), ("neither",), ("nor",),
    ("rather", "than"), ("never",), ("not",), ("none",), ("no", "longer"),
    ("ruled", "out"), ("removed",), ("interval", "removal", "of"), ("negative",), ("cleared",),
})
# Cues that may follow what they negate ("pneumothorax is not seen", "effusion has resolved"): applied backwards
# when no entity follows them in the clause.
NEGATION_BIDIRECTIONAL: frozenset[tuple[str, ...]] = frozenset({
    ("not",), ("absent",), ("resolved",), ("removed",), ("no", "longer"), ("ruled", "out"), ("negative",),
    ("cleared",),  # "consolidation in the left lower lobe has cleared"
})
# Two-way negations that report a change since the last study: "effusion has resolved since the prior exam" still
# negates the effusion (unlike "nodule, not seen on prior exams").
CHANGE_NEGATIONS: frozenset[str] = frozenset({"resolved", "removed", "cleared", "no"})  # "no": "no longer"


def _with_adverb(phrases: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> tuple[tuple[str, ...], ...]:
    """``(head, tail)`` exclusion phrases with an adverb between: "cannot be" + "completely" + "excluded"."""
    return tuple((*head, adverb, *tail) for adverb in ("completely", "entirely", "totally", "fully")
                 for head, tail in phrases)


# "a small effusion cannot be completely excluded" (these may follow what they hedge) ...
_ADVERB_EXCLUSIONS_PASSIVE = _with_adverb((
    (("cannot", "be"), ("excluded",)), (("can", "not", "be"), ("excluded",)), (("not",), ("excluded",)),
    (("not", "be"), ("excluded",)), (("cannot", "be"), ("ruled", "out")), (("not",), ("ruled", "out"))))
# ... and "difficult to entirely exclude a pneumonia" (these precede it)
_ADVERB_EXCLUSIONS_ACTIVE = _with_adverb((
    (("cannot",), ("exclude",)), (("can", "not"), ("exclude",)), (("difficult", "to"), ("exclude",)),
    (("difficult", "to"), ("rule", "out"))))
HEDGE_PRE: frozenset[tuple[str, ...]] = frozenset({
    ("may",), ("might",), ("could",), ("possible",), ("possibly",), ("probable",), ("probably",), ("likely",),
    ("questionable",), ("question", "of"), ("suspicious", "for"), ("concerning", "for"), ("suggestive", "of"),
    ("suspected",), ("suspect",), ("suspicion", "of"), ("worrisome", "for"), ("cannot", "exclude"),
    ("can", "not", "exclude"), ("can't", "exclude"), ("cannot", "be", "excluded"), ("not", "excluded"),
    ("cannot", "rule", "out"), ("not", "ruled", "out"), ("cannot", "be", "ruled", "out"),
    ("not", "be", "excluded"), ("difficult", "to", "exclude"), ("versus",), ("vs",), ("vs.",),
    ("presumably",), ("presumed",), ("equivocal",), ("differential",), ("suggest",), ("suggests",),
    ("suggesting",), ("would", "favor"), ("favored",), ("favor",), ("may", "represent"), ("?",),
    ("not", "entirely", "excluded"), ("not", "be", "ruled", "out"), ("uncertain",), ("indeterminate",),
    ("perhaps",), ("rule", "out"), ("r/o",), ("question",), ("questionable",), ("either",),
    ("concern", "for"), ("correlate", "for"), ("correlation", "for"), ("correlate", "clinically", "for"),
    ("consideration",), ("unlikely",), ("should", "be", "excluded"), ("suspicion", "for"),
    ("evaluation", "for"), ("evaluate", "for"), ("assess", "for"), ("assessment", "for"), ("to", "exclude"),
    ("difficult", "to", "rule", "out"), *_ADVERB_EXCLUSIONS_PASSIVE, *_ADVERB_EXCLUSIONS_ACTIVE,
    # "should / must / is to be ruled out", "needs to be excluded": still open, so uncertain, not absent
    ("be", "ruled", "out"), ("be", "excluded"), ("if", "any"), ("if", "present"),
})
HEDGE_BIDIRECTIONAL: frozenset[tuple[str, ...]] = frozenset({
    ("likely",), ("possible",), ("probable",), ("suspected",), ("cannot", "be", "excluded"),
    ("not", "excluded"), ("not", "ruled", "out"), ("cannot", "be", "ruled", "out"), ("not", "be", "excluded"),
    ("versus",), ("vs",), ("vs.",), ("?",), ("questionable",), ("not", "entirely", "excluded"),
    ("not", "be", "ruled", "out"), ("equivocal",), ("presumed",), ("uncertain",), ("favored",),
    ("consideration",),  # "a superimposed pneumonia would be a consideration"
    ("unlikely",), ("should", "be", "excluded"),
    ("differential",),  # "pneumonia is in the differential"
    ("be", "ruled", "out"), ("be", "excluded"),
    *_ADVERB_EXCLUSIONS_PASSIVE,
})
# Hedges about their whole clause, before and after them, past commas: "small, if any, left effusion".
HEDGE_CLAUSE: frozenset[tuple[str, ...]] = frozenset({("if", "any"), ("if", "present")})
# A participle after these describes a finding ("pneumonia with overlying atelectasis"), so it does not end the
# scope of a cue the way a finite verb does.
ATTRIBUTIVE_LEADS: frozenset[str] = frozenset({"with"})
# Hedge cues that do not lift a negation already in force: "no opacity to suggest pneumonia" negates pneumonia.
HEDGE_WEAK_UNDER_NEGATION: frozenset[tuple[str, ...]] = frozenset({
    ("suggest",), ("suggests",), ("suggesting",), ("suggestive", "of"), ("concerning", "for"),
    ("suspicious", "for"), ("worrisome", "for"), ("question", "of"), ("concern", "for"), ("suspicion", "for"),
})
# "No change", "no interval change", "without significant change": negates the change, not what follows.
PSEUDO_NEGATION_TAILS: frozenset[str] = frozenset({"change", "changes", "changed", "difference"})
PSEUDO_NEGATION_FILLERS: frozenset[str] = frozenset({"significant", "interval", "appreciable", "substantial",
                                                      "definite", "major", "substantive", "gross", "real"})
# "the PICC terminates in the low SVC": before these, "low"/"high" is a level of the anatomy, not a descriptor.
LEVEL_WORDS: frozenset[str] = frozenset({"low", "high"})
LEVELLED_ANATOMY: frozenset[str] = frozenset({"svc", "superior", "ivc", "atrium", "right", "cavoatrial",
                                              "esophagus", "stomach", "trachea"})
# Position words that, right after a copula, state a finding ("the trachea is midline", "the heart is left-sided").
POSITION_PREDICATES: frozenset[str] = frozenset({"midline", "left-sided", "right-sided"})
# "lateral view", "frontal radiograph": a position word before one of these names the projection, not anatomy.
VIEW_WORDS: frozenset[str] = frozenset({"view", "views", "projection", "projections", "radiograph", "radiographs",
                                        "film", "films", "image", "images", "exam", "examination", "study",
                                        "x-ray", "x-rays", "xray", "xrays", "radiography", "cxr", "studies",
                                        "exams", "examinations"})
# Words about the examination that may come before a view word ("PA and lateral chest radiographs", "portable
# upright AP view"): with it, they name the exam, not anatomy or a finding.
EXAM_MODIFIERS: frozenset[str] = frozenset({
    "pa", "ap", "frontal", "lateral", "portable", "upright", "semi-upright", "semiupright", "supine", "erect",
    "oblique", "decubitus", "single", "two", "and", ",", "chest", "bedside", "lordotic", "expiratory",
    "inspiratory", "xxxx",
})
# The projections that "<projection> and lateral" names ("PA and lateral", "frontal and lateral" with no view word).
PROJECTIONS: frozenset[str] = frozenset({"pa", "ap", "frontal"})
# "views of the chest", "radiograph of the chest": the exam's region, not anatomy of a finding.
EXAM_REGION_GAP: frozenset[str] = frozenset({"of", "the"})
EXAM_REGIONS: frozenset[str] = frozenset({"chest", "thorax"})
# "Findings were discussed with Dr. X": the report's findings as the subject of a communication verb.
REPORT_WORDS: frozenset[str] = frozenset({"findings", "finding", "results", "result"})
COMMUNICATION_VERBS: frozenset[str] = frozenset({
    "discussed", "communicated", "reported", "called", "conveyed", "relayed", "telephoned", "paged", "reviewed",
    "d/w", "emailed",
})
REPORT_VERB_GAP: frozenset[str] = frozenset({"were", "was", "are", "is", "have", "has", "been", "and", "these",
                                              "the", "above", "personally", "directly", "verbally", "telephonically"})
# "Nodule, not seen on prior exams": a cue followed closely by one of these speaks of the earlier study.
PRIOR_STUDY_WORDS: frozenset[str] = frozenset({"prior", "previous", "previously", "earlier", "comparison", "old"})
TERMINATORS: frozenset[str] = frozenset({
    ".", ";", ":", "but", "however", "although", "though", "which", "while", "whereas", "except", "otherwise",
    "aside", "apart", "nonetheless", "nevertheless", "yet", "now", "there", "though", "still", "since",
    "because", "given", "then", "following", "after", "this", "these", "that", "it", "they", "what",
})
SENTENCE_END: frozenset[str] = frozenset({".", "?", "!", "..", "...", "....", "?.", ".?"})
VERB_TERMINATORS: frozenset[str] = frozenset({
    "is", "are", "was", "were", "has", "have", "had", "appear", "appears", "appeared", "remain", "remains",
    "remained", "demonstrates", "demonstrate", "shows", "show", "measures", "measuring", "projects", "projecting",
    "terminates", "terminating", "extends", "extending", "overlies", "overlying", "persist", "persists",
})
# Punctuation and words that may stand between two anatomy words of one coordinated phrase
# ("cardiac and mediastinal silhouettes").
# ("or" is left out: "ascending aorta or mediastinal lymphadenopathy" names alternatives, not one region.)
ANAT_COORDINATORS: frozenset[tuple[str, ...]] = frozenset({("and",), (",", "and"), ("/",), ("-",)})
# Between two descriptors of one finding ("mild or moderate edema"), or around a hedge aside ("small, if any,").
HEDGE_ASIDE_WORDS: frozenset[str] = frozenset({"if", "any", "present"})
DESCRIPTOR_COORDINATION: frozenset[str] = frozenset({"and", "or", ",", "to"}) | HEDGE_ASIDE_WORDS
# Endings of adjectival organ words ("mediastinal", "hilar", "cardiac", "pulmonary"), which coordination lets modify
# a shared head ("mediastinal and hilar contours"); nouns ("heart and lungs") stay heads of their own.
ADJECTIVE_SUFFIXES: tuple[str, ...] = ("al", "ar", "ac", "ic", "ary")
# "left greater than right": a comparative and "than" between two anatomy words coordinate them.
COMPARATIVES: frozenset[str] = frozenset({"greater", "more", "worse", "larger", "less"})
COMPARATIVE_JOIN: list[str] = ["than"]
# Hedges between two alternatives ("atelectasis versus pneumonia"): both are uncertain.
ALTERNATIVE_CUES: frozenset[tuple[str, ...]] = frozenset({("versus",), ("vs",), ("vs.",)})
COPULAS: frozenset[str] = frozenset({
    "is", "are", "was", "were", "be", "been", "remain", "remains", "remained", "appear", "appears", "appeared",
    "has", "have", "had", "seem", "seems", "look", "looks", "became", "become", "becomes",
})
# Words allowed between a subject and its predicate ("lungs are again clear", "heart size is within normal
# limits", "the heart is not significantly enlarged").
PREDICATE_GAP: frozenset[str] = COPULAS | frozenset({
    "not", "again", "otherwise", "now", "still", "within", "currently", "overall", "stably", "grossly", "well",
    "also", "both", "each", "all", "slightly", "the", "in", "at", "of", "top", "upper", "limits", "limit",
    "somewhat", "considered", "likely", "probably", "possibly", "essentially", "been", "seen", "to", "be",
    "noted", "unchanged", "relatively", "more", "less", "very", "quite", "and", "mildly", "perhaps",
    "significantly", "heavily", "slightly", "minimally", "diffusely", "again", "normally", "somewhat",
    "xxxx",  # OpenI's de-identification mask ("the heart XXXX is slightly large")
})
# Words allowed between an observation and the anatomy it is located at ("opacity in the right lower lobe",
# "tip 4 cm above the carina", "atelectasis at both lung bases").
LOCATION_GAP: frozenset[str] = frozenset({
    "in", "at", "within", "of", "on", "the", "both", "involving", "along", "over", "overlying", "near", "into",
    "throughout", "projecting", "projects", "from", "to", "above", "below", "cm", "mm", "centimeters",
    "approximately", "about", "terminates", "terminating", "ends", "ending", "extending", "extends", "seen",
    "noted", "identified", "present", "is", "are", "a", "an", "its", "level", "lies", "which", "tip", "overlies",
    "inferior", "superior", "across", "beneath", "behind", "adjacent", "abutting", "outlining", "obscuring",
    "by", "just", "posteriorly", "anteriorly", "laterally", "medially", "region", "bilaterally", "each",
    "out", "upon", "around", "between", "visualized", "also", "again", "demonstrated", "located", "positioned",
    "situated", "placed", "there", "with", "within", "again", "redemonstrated", "material", "previously",
    "expected", "usual", "appropriate", "xxxx", "terminate", "end", "ends", "project", "overlie", "lie", "extend",
    "course", "pass", "resides", "sits", "courses", "coursing", "passes", "passing", "traverses",
    "traversing", "descends", "crosses", "crossing", "via",
})
# Descriptors that, followed by "of"/"in" and a finding, modify that finding ("areas of atelectasis",
# "position of the PICC line", "improvement in pneumothorax").
OF_MODIFIERS: frozenset[str] = frozenset({
    "area", "areas", "focus", "foci", "amount", "degree", "position", "placement", "course", "tip", "tips",
    "appearance", "configuration", "positions", "placements", "amounts", "degrees",
    "configurations", "appearances", "improvement", "increase", "decrease", "worsening", "progression",
    "increased", "decreased", "improved", "worsened", "new", "small", "large", "minimal", "mild", "moderate",
    "severe", "interval", "persistent", "residual", "unchanged", "stable",
})
# Between two coordinated findings, the words that make them share the location after the second ("tortuosity
# and atherosclerosis of the aorta").
COORDINATION_GAPS: tuple[list[str], ...] = (["and"], ["or"])
# Words that split a run of anatomy into conjuncts ("cardiac and mediastinal silhouettes").
CONJUNCT_BREAK: frozenset[str] = frozenset({"and", "or", ","})
COMMA_GAP: list[str] = [","]
# "has cleared in the interval": ends a two-way cue's look-ahead.
THE_INTERVAL: list[str] = ["the", "interval"]
# After a comma, these words start a new positive statement and end a negation ("no effusion, mild edema").
NEGATION_RESTART: frozenset[str] = frozenset({
    "mild", "mildly", "moderate", "severe", "stable", "unchanged", "persistent", "new", "increased", "decreased",
    "improved", "improving", "worsened", "worsening", "interval", "minimal", "slight", "trace", "again",
    "redemonstrated", "residual", "known", "chronic", "there",
})
# Negations that, before a pseudo-negation tail ("no change"), negate only that.
PSEUDO_NEGATION_CUES: frozenset[str] = frozenset({"no", "without", "not"})
# "atelectasis versus pneumonia": the phrase before the alternative reaches back to one of these.
ALTERNATIVE_BACK_STOPS: frozenset[str] = frozenset({"and", ",", "with"})
# Between a descriptor of OF_MODIFIERS and its finding ("areas of atelectasis"), or a part and its organ.
OF_GAP: frozenset[str] = frozenset({"of", "in", "the", "a", "an", "to"})
# A predicate needs one of these before it ("heart size within normal limits" has no verb).
COPULA_OR_WITHIN: frozenset[str] = COPULAS | frozenset({"within"})
# Between the findings of a suggestive_of target list ("likely atelectasis or pneumonia").
SUGGESTIVE_LIST_GAP: frozenset[str] = frozenset({"or", "and", ",", "versus", "vs", "vs.", "/", "and/or"})
# "Left basilar opacity. This likely represents atelectasis": a sentence that opens with one of ANAPHORA_START and
# only ANAPHORA_WORDS before its suggestive cue speaks of the last finding before it.
ANAPHORA_START: frozenset[str] = frozenset({"this", "these", "it", "they", "which", "that"})
ANAPHORA_WORDS: frozenset[str] = ANAPHORA_START | frozenset({"is", "are", "most", "more", "very", "in", "all",
                                                             "probability", "may", "could", "both"})
# Grammar words the token view keeps (the rules compare them), beyond every list above.
STRUCTURE_WORDS: frozenset[str] = frozenset({",", "of", "or", "and", "a", "an"})
SUGGESTIVE_CUES: frozenset[tuple[str, ...]] = frozenset({
    ("represent",), ("represents",), ("representing",), ("reflect",), ("reflects",), ("reflecting",),
    ("suggestive", "of"), ("suggest",), ("suggests",), ("suggesting",), ("consistent", "with"),
    ("compatible", "with"), ("concerning", "for"), ("suspicious", "for"), ("worrisome", "for"), ("due", "to"),
    ("secondary", "to"), ("indicating",), ("indicative", "of"), ("likely",), ("probably",), ("possibly",),
    ("related", "to"), ("caused", "by"), ("could", "be"), ("may", "be"),
    ("concern", "for"), ("characteristic", "of"), ("typical", "of"), ("attributable", "to"), ("favor",),
    ("favoring",),
})

# --- CheXpert observations (igcl.labels.CHEXPERT_OBSERVATIONS) from graph mentions ---------------------------
# A finding word names its observation wherever it is (the "by word" rows of igcl.reports.labels.LABEL_RULES).
OBSERVATION_WORDS: dict[str, frozenset[str]] = {
    "Cardiomegaly": frozenset({"cardiomegaly"}),
    "Edema": frozenset({"edema", "chf", "congestion", "overload"}),
    "Consolidation": frozenset(plural_forms("consolidation") + ("consolidative",)),
    "Pneumonia": frozenset(plural_forms("pneumonia") + plural_forms("infection") + ("infectious", "pneumonitis")),
    "Atelectasis": frozenset(plural_forms("atelectasis") + ("atelectatic", "collapse", "collapsed")),
    "Pneumothorax": frozenset(plural_forms("pneumothorax") + ("hydropneumothorax",)),
    "Pleural Effusion": frozenset({"hydrothorax", "hemothorax", "hydropneumothorax"}),
    "Fracture": frozenset(plural_forms("fracture") + ("fx",)),
    "Lung Opacity": frozenset({*plural_forms("opacity"), *plural_forms("opacification"), "density", "densities",
                               *plural_forms("infiltrate"), "infiltration", "haziness", "airspace disease",
                               "air space disease", "airspace opacity", "opacified"}),
    "Lung Lesion": frozenset({*plural_forms("mass"), *plural_forms("nodule"), *plural_forms("lesion"),
                              *plural_forms("tumor"), *plural_forms("neoplasm"), "carcinoma", "malignancy",
                              "metastasis", "metastases"}),
    # (CheXpert's labeler counts hardware, plates, screws, coils, valves and arthroplasties as support devices,
    # but not surgical clips, sutures, staples or sternotomy wires)
    "Support Devices": frozenset(form for w in DEVICE_WORDS - {"clip", "suture", "staple", "rod", "cabg", "wire",
                                                                "filter"}
                                 for form in plural_forms(w)),
}
# Words that name an observation only at some anatomy: (word, anatomy) → observation.
EFFUSION_WORDS = frozenset(plural_forms("effusion"))
PLEURAL_ANATOMY = frozenset({"pleural", "pleura", "pleurae", "costophrenic", "costophrenics"})
NONPLEURAL_EFFUSION_ANATOMY = frozenset({"pericardial", "pericardium", "joint", "shoulder", "abdominal"})
PLEURAL_OTHER_WORDS = frozenset({"thickening", "plaque", "plaques", "fibrosis", "scarring", "scar", "scars",
                                 "calcification", "calcifications", "calcified"})
PLEURAL_EFFUSION_AT_PLEURA_WORDS = frozenset({"fluid", "blunting", "blunted"})
PNEUMOTHORAX_AT_PLEURA_WORDS = frozenset({"air", "gas"})
# "pleural fluid collection", "pleural air collection": what the collection holds names the observation.
COLLECTION_WORDS = frozenset(plural_forms("collection"))
LUNG_OPACITY_SCAR_WORDS = frozenset({"scarring", "scar", "scars"})
# ("borderline heart size": the indexers, like CheXpert's labeler, count it as cardiomegaly)
ENLARGED_WORDS = frozenset({"enlarged", "enlargement", "prominent", "prominence", "large", "widened", "widening",
                            "enlarging", "borderline"})
AIRSPACE_ANATOMY = frozenset({"airspace", "air space", "airspaces", "alveolar"})
# "increased interstitial markings", "reticular pattern": CheXpert's Lung Opacity mentions.
INTERSTITIAL_ANATOMY = frozenset({"interstitial", "interstitium"})
INTERSTITIAL_PATTERN_WORDS = frozenset({"markings", "marking", "pattern", "prominence", "thickening"})
AIRSPACE_DISEASE_WORDS = frozenset({"disease", "process", "abnormality", "abnormalities"})
# "left chest XXXX with its tip in the mid SVC": a tip in the great veins, the heart or at the carina belongs to
# a line or tube, whether or not the report (or its de-identification) names it.
TIP_WORDS = frozenset(plural_forms("tip"))
DEVICE_TIP_ANATOMY = frozenset({"svc", "cava", "vena", "ivc", "cavoatrial",
                                "caval", "atrium", "atrial", "brachiocephalic", "subclavian", "jugular", "azygos",
                                "carina"})
# "catheter fracture", "fractured sternotomy wires": a broken device, not a broken bone.
FRACTURE_WORDS = frozenset((*plural_forms("fracture"), "fx"))
DEVICE_FORMS = frozenset(form for w in DEVICE_WORDS for form in plural_forms(w))
# "prior granulomatous infection", "old healed infection": not a pneumonia.
INFECTION_WORDS = frozenset({"infection", "infections", "infectious"})
OLD_INFECTION_MODIFIERS = frozenset({"granulomatous", "old", "healed", "remote", "chronic", "tuberculous",
                                     "tuberculosis", "tb", "histoplasmosis"})
NORMAL_WORDS = frozenset({"normal", "unremarkable", "within"})
# Pulmonary vascular congestion in other words (CheXpert's Edema mentions take in "vascular prominence" and
# "indistinctness"): these at the pulmonary vessels name Edema.
VASCULAR_ANATOMY = frozenset({"vascular", "vasculature", "vascularity", "vascularities", "vessel", "vessels"})
VASCULAR_CONGESTION_WORDS = frozenset({
    "prominence", "prominent", "engorgement", "engorged", "indistinct", "indistinctness", "cephalization",
    "redistribution", "increased", "distended", "distention", "distension", "fullness", "plethora", "plethoric",
    "enlarged", "enlargement",
})
# "soft tissue edema" of a limb or the chest wall is not pulmonary edema.
EDEMA_WORDS = frozenset({"edema"})
NONPULMONARY_EDEMA_ANATOMY = frozenset({"soft", "extremity", "extremities", "breast", "breasts", "neck", "wall",
                                        "skin"})
# "prosthetic aortic valve": the device is named by its descriptor at the valve.
PROSTHETIC_WORDS = frozenset({"prosthetic", "mechanical", "replacement"})
VALVE_ANATOMY = frozenset(plural_forms("valve"))
# Only vessels engorge or cephalize in the lungs: "the pulmonary XXXX are engorged" (the vessel word masked) is Edema.
VESSEL_ONLY_CONGESTION_WORDS = frozenset({"engorged", "engorgement", "cephalization"})
LUNG_ANATOMY_FOR_VESSELS = frozenset({"pulmonary", "lung", "lungs", "hilar", "perihilar"})
# "congestive heart failure", "cardiac failure": Edema (CheXpert's "heart failure"); "respiratory failure" is not.
HEART_FAILURE_WORDS = frozenset({"failure"})
HEART_FAILURE_MODIFIERS = frozenset({"congestive"})
# "pleural line" (the visceral pleura seen in a pneumothorax) and "septal lines" are signs, not devices.
LINE_WORDS = frozenset(plural_forms("line"))
LINE_SIGN_ANATOMY = PLEURAL_ANATOMY | frozenset({"septal"})
HEART_ANATOMY = frozenset({"heart", "cardiac"})
MEDIASTINUM_ANATOMY = frozenset({"mediastinal", "mediastinum", "cardiomediastinal"})
