"""One phantom study, derived from its own random stream: who, what the image shows, the report, the labels.

Every study is a pure function of ``(seed, dataset, index)`` plus its subject's attributes (a pure function of
``(seed, dataset, subject index)``), so workers in a process pool produce identical studies in any order.

Datasets: ``MIMIC`` (0) the pretraining tree, ``CHEXPERT_TRAIN`` (1), ``CHEXPERT_VALID`` (2) and ``CHEXPERT_TEST``
(3) the evaluation tree's splits. The MIMIC tree is one acquisition site ("mimic"), the CheXpert splits another
("chexpert"). Each dataset has its own streams, so adding the test split (or resizing it) leaves every train and
valid study as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from igcl.data.phantom.config import PhantomConfig
from igcl.data.phantom.findings import StudyFindings, labels_from_findings, sample_findings, truth_from_findings
from igcl.data.phantom.render import Anatomy, ImageSpec, sample_anatomy
from igcl.data.phantom.reports import write_report
from igcl.data.phantom.sites import sample_nuisance

MIMIC, CHEXPERT_TRAIN, CHEXPERT_VALID, CHEXPERT_TEST = 0, 1, 2, 3
SITE_OF = {MIMIC: "mimic", CHEXPERT_TRAIN: "chexpert", CHEXPERT_VALID: "chexpert", CHEXPERT_TEST: "chexpert"}
# Streams under (seed, dataset): subject table, per-subject attributes, per-study content, and (CHEXPERT_TEST only)
# the simulated readers of igcl.data.phantom.readers.
_TABLE, _SUBJECT, _STUDY = 0, 1, 2
READERS_STREAM = 3


@dataclass(frozen=True)
class SubjectTable:
    """How a dataset's studies group into subjects (arrays of length n_studies / n_subjects).

    ``subject_of[i]``: subject index of study i; ``order[i]``: 0 for a subject's first study, 1 for the next...;
    ``subject_ids[j]``: the 8-digit MIMIC subject id of subject j; ``study_ids[i]``: the 8-digit study id
    (starting with 5) of study i. Subject and study ids increase with the index, so they are unique.
    """

    subject_of: np.ndarray
    order: np.ndarray
    subject_ids: np.ndarray
    study_ids: np.ndarray

    @property
    def n_subjects(self) -> int:
        return len(self.subject_ids)


def subject_table(cfg: PhantomConfig, dataset: int, n_studies: int) -> SubjectTable:
    """Group ``n_studies`` studies into subjects of 1..max_studies_per_subject studies each."""
    rng = np.random.default_rng([cfg.seed, dataset, _TABLE])
    counts = rng.integers(1, cfg.max_studies_per_subject + 1, size=n_studies)
    ends = np.cumsum(counts)
    n_subjects = int(np.searchsorted(ends, n_studies) + 1)
    subject_of = np.repeat(np.arange(n_subjects), counts[:n_subjects])[:n_studies]
    starts = np.concatenate([[0], ends[:n_subjects - 1]])
    order = np.arange(n_studies) - starts[subject_of]
    step = max(1, min(40, 8_999_999 // max(n_subjects, 1)))
    subject_ids = 10_000_000 + np.cumsum(rng.integers(1, step + 1, size=n_subjects))
    study_step = max(1, min(40, 9_999_999 // max(n_studies, 1)))
    study_ids = 50_000_000 + np.cumsum(rng.integers(1, study_step + 1, size=n_studies))
    return SubjectTable(subject_of, order, subject_ids, study_ids)


@dataclass(frozen=True)
class Subject:
    """A patient: sex ("M"/"F"), age at the first study, split (MIMIC), body, and a date base for studies."""

    index: int
    sex: str
    age: int
    split: str
    anatomy: Anatomy
    first_day: int


def sample_subject(cfg: PhantomConfig, dataset: int, index: int) -> Subject:
    rng = np.random.default_rng([cfg.seed, dataset, _SUBJECT, index])
    sex = "F" if rng.random() < 0.45 else "M"
    age = int(np.clip(rng.normal(62, 16), 18, 90))
    split = str(rng.choice(["train", "validate", "test"],
                           p=[cfg.train_fraction, cfg.validate_fraction, cfg.test_fraction]))
    anatomy = sample_anatomy(rng, female=sex == "F")
    return Subject(index, sex, age, split, anatomy, int(rng.integers(0, 365 * 80)))


@dataclass(frozen=True)
class ImageRecord:
    """One image of a study: its DICOM-style id, projection and render spec."""

    dicom_id: str
    projection: str
    spec: ImageSpec


@dataclass(frozen=True)
class Study:
    """A sampled study. ``labels``: the 14 CheXpert labels read from the report (1/0/-1/NaN); ``truth``: what
    the image shows (1/0). ``report`` is the MIMIC-style text (empty for CheXpert datasets, which have none)."""

    dataset: int
    index: int
    subject: Subject
    order: int
    findings: StudyFindings
    report: str
    labels: dict[str, float]
    truth: dict[str, float]
    images: tuple[ImageRecord, ...]
    study_date: str
    study_time: str
    orientation: str

    @property
    def projection(self) -> str:
        return self.images[0].projection


def _dicom_id(rng: np.random.Generator) -> str:
    return "-".join(f"{int(x):08x}" for x in rng.integers(0, 2**32, size=5, dtype=np.uint64))


def sample_study(cfg: PhantomConfig, dataset: int, index: int, subject: Subject, order: int) -> Study:
    """Sample study ``index`` of ``dataset`` (the ``order``-th study of ``subject``): findings, report, labels,
    and the render specs of its frontal image and (with chance ``cfg.lateral_fraction``; never for CHEXPERT_TEST,
    whose studies are frontal only) a lateral."""
    rng = np.random.default_rng([cfg.seed, dataset, _STUDY, index])
    p_ap = 0.45 if dataset == MIMIC else 0.6
    projection = "AP" if rng.random() < p_ap else "PA"
    lateral = rng.random() < cfg.lateral_fraction and dataset != CHEXPERT_TEST  # the draw is made either way
    findings = sample_findings(rng, has_prior=order > 0, portable=projection == "AP")
    report = write_report(findings, rng, projection=projection, lateral=lateral, sex=subject.sex) \
        if dataset == MIMIC else ""
    visible = findings.visible
    site = SITE_OF[dataset]
    images = []
    for view in (projection, "LATERAL") if lateral else (projection,):
        spec = ImageSpec(view, cfg.image_size, subject.anatomy, sample_nuisance(site, view, rng), visible,
                         int(rng.integers(2**31)))
        images.append(ImageRecord(_dicom_id(rng), view, spec))
    day = subject.first_day + order * 180 + int(rng.integers(0, 120))
    date = np.datetime64("2110-01-01") + np.timedelta64(day, "D")
    seconds = int(rng.integers(0, 86400))
    time = f"{seconds // 3600 * 10000 + seconds // 60 % 60 * 100 + seconds % 60}.{int(rng.integers(1000)):03d}"
    orientation = "Recumbent" if projection == "AP" and rng.random() < 0.3 else "Erect"
    return Study(dataset, index, subject, order, findings, report, labels_from_findings(findings),
                 truth_from_findings(findings), tuple(images), str(date).replace("-", ""), time, orientation)
