"""Phantom study content: label rules, prevalence, and independence of studies from each other."""

import math

import numpy as np
import pytest

from igcl.data.phantom.config import PhantomConfig
from igcl.data.phantom.findings import (NEGATIVE, POSITIVE, UNCERTAIN, Finding, StudyFindings, labels_from_findings,
                                        truth_from_findings)
from igcl.data.phantom.study import MIMIC, sample_study, sample_subject, subject_table
from igcl.labels import COMPETITION_PATHOLOGIES


def finding(observation, status=POSITIVE, visible=True, location="left"):
    return Finding(observation, status, location, "moderate", None, visible, 1)


def test_labels_follow_chexpert_rules():
    study = StudyFindings(
        (finding("Pleural Effusion"), finding("Edema", UNCERTAIN, visible=False),
         finding("Support Devices", location="PICC")),
        negated=("Pneumothorax",), has_prior=False)
    labels = labels_from_findings(study)
    assert labels["Pleural Effusion"] == 1.0
    assert labels["Edema"] == -1.0
    assert labels["Pneumothorax"] == 0.0
    assert labels["Support Devices"] == 1.0
    assert math.isnan(labels["No Finding"]) and math.isnan(labels["Cardiomegaly"])
    truth = truth_from_findings(study)
    assert truth["Pleural Effusion"] == 1.0 and truth["Edema"] == 0.0 and truth["No Finding"] == 0.0


def test_no_finding_only_without_pathology_devices_allowed():
    devices_only = StudyFindings((finding("Support Devices", location="pacemaker"),), ("Pleural Effusion",), False)
    labels = labels_from_findings(devices_only)
    assert labels["No Finding"] == 1.0 and labels["Support Devices"] == 1.0
    hedged = StudyFindings((finding("Atelectasis", UNCERTAIN),), (), False)
    assert math.isnan(labels_from_findings(hedged)["No Finding"])


def _sample_labels(n, seed=0):
    cfg = PhantomConfig(seed=seed, pretrain_studies=n)
    table = subject_table(cfg, MIMIC, n)
    out = []
    for i in range(n):
        subject = sample_subject(cfg, MIMIC, int(table.subject_of[i]))
        out.append(sample_study(cfg, MIMIC, i, subject, int(table.order[i])))
    return out


def test_competition_pathologies_are_10_to_30_percent_positive():
    studies = _sample_labels(1500)
    for name in COMPETITION_PATHOLOGIES:
        positive = np.mean([s.labels[name] == 1.0 for s in studies])
        assert 0.10 <= positive <= 0.30, (name, positive)
    normal = np.mean([s.labels["No Finding"] == 1.0 for s in studies])
    assert 0.15 <= normal <= 0.45, normal
    statuses = {f.status for s in studies for f in s.findings.findings}
    assert statuses == {POSITIVE, UNCERTAIN}
    assert NEGATIVE not in statuses and any(s.findings.negated for s in studies)


def test_study_depends_only_on_seed_dataset_and_index():
    cfg = PhantomConfig(seed=3)
    subject = sample_subject(cfg, MIMIC, 5)
    a = sample_study(cfg, MIMIC, 17, subject, 1)
    _ = sample_study(cfg, MIMIC, 16, subject, 0)  # sampling others in between changes nothing
    b = sample_study(cfg, MIMIC, 17, subject, 1)
    assert a == b
    c = sample_study(PhantomConfig(seed=4), MIMIC, 17, subject, 1)
    assert (a.report, a.images[0].dicom_id) != (c.report, c.images[0].dicom_id)


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_subject_table_groups_every_study_with_unique_ids(n):
    cfg = PhantomConfig(pretrain_studies=n)
    table = subject_table(cfg, MIMIC, n)
    assert len(table.subject_of) == n and len(table.study_ids) == n
    assert len(set(table.study_ids.tolist())) == n
    assert len(set(table.subject_ids.tolist())) == table.n_subjects
    assert table.subject_of.max() == table.n_subjects - 1
    assert all(10_000_000 <= s <= 19_999_999 for s in table.subject_ids.tolist())
    assert all(50_000_000 <= s <= 59_999_999 for s in table.study_ids.tolist())
    # order counts a subject's studies 0, 1, 2, ...
    for j in range(table.n_subjects):
        orders = table.order[table.subject_of == j]
        assert orders.tolist() == list(range(len(orders)))
        assert len(orders) <= cfg.max_studies_per_subject
