"""Label-fraction and few-shot training subsets of the CheXpert train split, sampled by patient.

Every draw is seeded through an explicit ``numpy.random.Generator``; the same seed gives the same subset.
Sampling is by patient (a patient's images are all in or all out), so a subset never splits a patient, and the
test split's patients are excluded from the pool beforehand (:func:`exclude_patients`).

Fraction subsets (:func:`sample_fraction`), the algorithm:

1. Patients are the sampling unit. Each patient gets a *signature*: for each pathology, whether any of their
   images is a usable positive. Patients are grouped into strata by signature.
2. The subset holds ``max(1, round(fraction · n_patients))`` patients. Each stratum gets ``floor(fraction · size)``
   of them; the patients still missing go one each to the strata with the largest remainders (ties in a seeded
   random order). Within a stratum, patients are drawn uniformly without replacement.
3. Guarantee: for each pathology in order, if the subset has no usable positive image, one patient with one is
   added (drawn at random); the same for a negative. So a subset can be a few patients larger than the target.
   A pathology whose whole pool has no positive (or negative) cannot be guaranteed; it is reported in
   :attr:`Subset.missing` and its probe is not fitted (its AUROC rows carry a status saying so).

Few-shot subsets (:func:`sample_few_shot`), per pathology: k distinct patients with a usable positive image, one
random positive image from each; then ``k · negatives_per_positive`` distinct other patients with a usable negative
image, one random negative image from each. When fewer patients exist, all of them are used and the shortfall
shows in the n_train_pos / n_train columns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subset:
    """Indices [m] (sorted, into the pool's images), the number of patients, and pathologies lacking a class."""

    indices: np.ndarray
    n_patients: int
    n_added: int
    missing: tuple[str, ...]


def exclude_patients(patient_ids: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Boolean mask [n] of the images whose patient is not in ``excluded``."""
    return ~np.isin(patient_ids, np.unique(excluded))


def _largest_remainder(sizes: np.ndarray, fraction: float, total: int, rng: np.random.Generator) -> np.ndarray:
    exact = sizes * fraction
    quota = np.minimum(np.floor(exact).astype(np.int64), sizes)
    short = total - int(quota.sum())
    if short > 0:
        remainder = exact - quota
        tiebreak = rng.permutation(len(sizes))
        # sort by remainder descending, then by the random tie-break; only strata with room take one more
        order = np.lexsort((tiebreak, -remainder))
        order = [s for s in order if quota[s] < sizes[s]]
        for s in order[:short]:
            quota[s] += 1
    return quota


def sample_fraction(patient_ids: np.ndarray, targets: np.ndarray, fraction: float, rng: np.random.Generator,
                    pathologies: tuple[str, ...]) -> Subset:
    """Stratified, patient-level subset holding ``fraction`` of the patients (see the module docstring).

    ``patient_ids`` [n] str, ``targets`` [n, P] (1 / 0 / NaN = unusable).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction {fraction!r} is not in (0, 1]")
    patients, inverse = np.unique(patient_ids, return_inverse=True)
    n_patients = len(patients)
    if n_patients == 0:
        raise ValueError("the training pool is empty")
    positive = np.zeros((n_patients, targets.shape[1]), dtype=bool)
    negative = np.zeros_like(positive)
    np.logical_or.at(positive, inverse, targets == 1.0)
    np.logical_or.at(negative, inverse, targets == 0.0)

    target = n_patients if fraction == 1.0 else max(1, int(round(fraction * n_patients)))
    signature = positive @ (1 << np.arange(targets.shape[1]))
    strata, stratum_of = np.unique(signature, return_inverse=True)
    sizes = np.bincount(stratum_of, minlength=len(strata))
    quota = _largest_remainder(sizes, fraction, target, rng)
    chosen = np.zeros(n_patients, dtype=bool)
    for s, q in enumerate(quota):
        if q:
            members = np.flatnonzero(stratum_of == s)
            chosen[rng.choice(members, size=q, replace=False)] = True

    added = 0
    missing = []
    for p, name in enumerate(pathologies):
        for has, kind in ((positive[:, p], "positive"), (negative[:, p], "negative")):
            if (chosen & has).any():
                continue
            candidates = np.flatnonzero(has & ~chosen)
            if candidates.size == 0:
                missing.append(f"{name} ({kind})")
                continue
            chosen[rng.choice(candidates)] = True
            added += 1
    if missing:
        log.warning("fraction %s: the training pool has no usable %s", fraction, ", ".join(missing))
    indices = np.flatnonzero(chosen[inverse])
    return Subset(indices=indices, n_patients=int(chosen.sum()), n_added=added, missing=tuple(missing))


def sample_few_shot(patient_ids: np.ndarray, target: np.ndarray, k: int, n_negative: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) of k positive and ``n_negative`` negative images, each from a distinct patient.

    ``patient_ids`` [n] str, ``target`` [n] for one pathology (1 / 0 / NaN = unusable).
    """
    def one_image_per_patient(mask: np.ndarray, wanted: int, banned: np.ndarray) -> np.ndarray:
        candidates = np.flatnonzero(mask & ~np.isin(patient_ids, banned))
        patients = np.unique(patient_ids[candidates])
        picked = rng.choice(patients, size=min(wanted, patients.size), replace=False)
        images = []
        for patient in np.sort(picked):  # sorted so the draws below do not depend on rng.choice's order
            own = candidates[patient_ids[candidates] == patient]
            images.append(rng.choice(own))
        return np.array(images, dtype=np.int64)

    positives = one_image_per_patient(target == 1.0, k, np.array([], dtype=object))
    negatives = one_image_per_patient(target == 0.0, n_negative, patient_ids[positives])
    return np.sort(np.concatenate([positives, negatives]))
