"""The phantom stage's config section (``phantom:`` in config.yaml) as a frozen, checked dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PhantomConfig:
    """Size, seed and acquisition knobs of the phantom data set.

    ``pretrain_studies`` MIMIC-CXR-like studies (one report, a frontal image and, with chance
    ``lateral_fraction``, a lateral) are split by subject into train/validate/test with the given fractions;
    ``eval_train_studies`` / ``eval_valid_studies`` CheXpert-like studies go to train.csv / valid.csv, and
    ``eval_test_studies`` CheXpert-test-like studies (one patient and one frontal image each) to test_labels.csv,
    with the simulated readers of phantom_radiologists.csv; 0 writes no test split.
    """

    seed: int = 0
    pretrain_studies: int = 2400
    eval_train_studies: int = 2000
    eval_valid_studies: int = 200
    eval_test_studies: int = 500
    image_size: int = 256
    lateral_fraction: float = 0.3
    jpeg_quality: int = 90
    train_fraction: float = 0.8
    validate_fraction: float = 0.05
    test_fraction: float = 0.15
    max_studies_per_subject: int = 3

    def __post_init__(self) -> None:
        for key in ("seed", "pretrain_studies", "eval_train_studies", "eval_valid_studies", "eval_test_studies",
                    "image_size", "jpeg_quality", "max_studies_per_subject"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"phantom.{key}: expected an integer, got {value!r}")
        for key in ("seed", "eval_test_studies"):
            if getattr(self, key) < 0:
                raise ValueError(f"phantom.{key}: must be >= 0, got {getattr(self, key)}")
        for key in ("pretrain_studies", "eval_train_studies", "eval_valid_studies", "max_studies_per_subject"):
            if getattr(self, key) < 1:
                raise ValueError(f"phantom.{key}: must be >= 1, got {getattr(self, key)}")
        if self.pretrain_studies > 9_999_999:
            raise ValueError(f"phantom.pretrain_studies: at most 9,999,999 (8-digit study ids), "
                             f"got {self.pretrain_studies}")
        if not 32 <= self.image_size <= 4096:
            raise ValueError(f"phantom.image_size: must be in [32, 4096] pixels, got {self.image_size}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"phantom.jpeg_quality: must be in [1, 100], got {self.jpeg_quality}")
        for key in ("lateral_fraction", "train_fraction", "validate_fraction", "test_fraction"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"phantom.{key}: must be a number in [0, 1], got {value!r}")
        total = self.train_fraction + self.validate_fraction + self.test_fraction
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"phantom.train_fraction + validate_fraction + test_fraction must sum to 1, "
                             f"got {total:g}")
