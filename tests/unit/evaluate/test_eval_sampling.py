"""Patient-level, stratified, seeded training subsets: determinism, disjointness, guaranteed classes, few-shot."""

import numpy as np
import pytest

from igcl.evaluate.sampling import exclude_patients, sample_few_shot, sample_fraction

PATHS = ("a", "b", "c")


def pool(n_patients=300, seed=0, rare_positive_rate=0.02):
    """1-3 images per patient; pathology b is rare, c has uncertain (NaN) targets."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 4, n_patients)
    patients = np.repeat(np.array([f"p{i:04d}" for i in range(n_patients)], dtype=object), per)
    n = len(patients)
    targets = np.stack([rng.random(n) < 0.3, rng.random(n) < rare_positive_rate, rng.random(n) < 0.4], 1)
    targets = targets.astype(np.float32)
    targets[rng.random(n) < 0.2, 2] = np.nan
    return patients, targets


def test_same_seed_same_subset_other_seed_differs():
    patients, targets = pool()
    a = sample_fraction(patients, targets, 0.1, np.random.default_rng(7), PATHS)
    b = sample_fraction(patients, targets, 0.1, np.random.default_rng(7), PATHS)
    c = sample_fraction(patients, targets, 0.1, np.random.default_rng(8), PATHS)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5])
def test_subset_takes_whole_patients_and_both_classes(fraction):
    patients, targets = pool()
    subset = sample_fraction(patients, targets, fraction, np.random.default_rng(0), PATHS)
    chosen = set(patients[subset.indices])
    # sampling by patient: every image of a chosen patient is in, no image of another patient
    np.testing.assert_array_equal(subset.indices, np.flatnonzero(np.isin(patients, list(chosen))))
    assert subset.n_patients == len(chosen)
    target = max(1, round(fraction * 300))
    assert target <= subset.n_patients <= target + 2 * len(PATHS)
    y = targets[subset.indices]
    for p in range(len(PATHS)):
        assert (y[:, p] == 1).any() and (y[:, p] == 0).any(), PATHS[p]
    assert subset.missing == ()


def test_one_percent_adds_patients_for_missing_classes():
    patients, targets = pool(rare_positive_rate=0.005)
    subset = sample_fraction(patients, targets, 0.01, np.random.default_rng(1), PATHS)
    assert subset.n_added >= 1  # 3 patients rarely hold a positive of the rare pathology
    assert (targets[subset.indices, 1] == 1).any()


def test_full_fraction_is_everything():
    patients, targets = pool()
    subset = sample_fraction(patients, targets, 1.0, np.random.default_rng(0), PATHS)
    np.testing.assert_array_equal(subset.indices, np.arange(len(patients)))


def test_stratification_keeps_the_positive_rate():
    patients, targets = pool(n_patients=2000)
    subset = sample_fraction(patients, targets, 0.2, np.random.default_rng(0), PATHS)
    full_rate = np.mean([(targets[patients == p, 0] == 1).any() for p in np.unique(patients)])
    chosen = np.unique(patients[subset.indices])
    sub_rate = np.mean([(targets[patients == p, 0] == 1).any() for p in chosen])
    assert abs(sub_rate - full_rate) < 0.01  # largest-remainder quotas: off by at most a patient or two per stratum


def test_a_class_absent_from_the_pool_is_reported_not_invented():
    patients, targets = pool()
    targets[:, 1] = 0.0  # no positive of b anywhere
    subset = sample_fraction(patients, targets, 0.1, np.random.default_rng(0), PATHS)
    assert subset.missing == ("b (positive)",)
    assert not (targets[subset.indices, 1] == 1).any()


def test_excluded_patients_never_sampled():
    patients, targets = pool()
    test_patients = np.array(["p0001", "p0002", "p0100"], dtype=object)
    keep = exclude_patients(patients, test_patients)
    subset = sample_fraction(patients[keep], targets[keep], 1.0, np.random.default_rng(0), PATHS)
    assert not set(patients[keep][subset.indices]) & set(test_patients)
    assert keep.sum() == len(patients) - np.isin(patients, test_patients).sum()


def test_few_shot_k_positives_from_distinct_patients():
    patients, targets = pool()
    for k in (1, 5, 10):
        index = sample_few_shot(patients, targets[:, 0], k, k, np.random.default_rng(k))
        y = targets[index, 0]
        assert (y == 1).sum() == k and (y == 0).sum() == k
        assert len(set(patients[index])) == 2 * k  # one image per patient, positives' patients not reused
    again = sample_few_shot(patients, targets[:, 0], 5, 5, np.random.default_rng(5))
    np.testing.assert_array_equal(again, sample_few_shot(patients, targets[:, 0], 5, 5, np.random.default_rng(5)))
    # uncertain (NaN) images are never drawn
    index = sample_few_shot(patients, targets[:, 2], 10, 10, np.random.default_rng(0))
    assert np.isfinite(targets[index, 2]).all()


def test_few_shot_uses_what_exists_when_short():
    patients = np.array(["p1", "p1", "p2", "p3", "p4"], dtype=object)
    target = np.array([1, 1, 0, 0, 0], dtype=np.float32)
    index = sample_few_shot(patients, target, 5, 5, np.random.default_rng(0))
    assert (target[index] == 1).sum() == 1 and (target[index] == 0).sum() == 3
