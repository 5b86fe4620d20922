"""Typed config of the ``evaluate`` stage (config.yaml ``evaluate:``; the report stage's is igcl.summary.config).

Each dataclass checks its values in ``__post_init__`` and raises ``ValueError`` naming the key, so a bad
config.yaml fails before any feature is extracted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from igcl.config import EXECUTION

UNCERTAIN_POLICIES: tuple[str, ...] = ("ones", "zeros", "ignore")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def _check_fractions(fractions: tuple[float, ...], key: str) -> None:
    if not fractions:
        raise ValueError(f"{key}: needs at least one fraction")
    for fraction in fractions:
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"{key}: fraction {fraction!r} is not in (0, 1]")
    if len(set(fractions)) != len(fractions):
        raise ValueError(f"{key}: fractions {list(fractions)} repeat a value")


@dataclass(frozen=True)
class LinearConfig:
    """Linear probe: logistic regression per pathology on standardised frozen features."""

    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)  # of the CheXpert train split's patients
    C: float = 1.0                                    # inverse L2 strength of sklearn's LogisticRegression
    max_iter: int = 1000

    def __post_init__(self) -> None:
        _check_fractions(self.fractions, "evaluate.linear.fractions")
        if not self.C > 0:
            raise ValueError(f"evaluate.linear.C: must be > 0, got {self.C!r}")
        if self.max_iter < 1:
            raise ValueError(f"evaluate.linear.max_iter: must be >= 1, got {self.max_iter!r}")


@dataclass(frozen=True)
class FewShotConfig:
    """Few-shot probe: per pathology, k positive images (from k patients) and k × negatives_per_positive negatives."""

    k: tuple[int, ...] = (1, 5, 10)
    negatives_per_positive: int = 1

    def __post_init__(self) -> None:
        if not self.k or any(int(k) < 1 for k in self.k):
            raise ValueError(f"evaluate.fewshot.k: needs positive integers, got {list(self.k)}")
        if self.negatives_per_positive < 1:
            raise ValueError("evaluate.fewshot.negatives_per_positive: must be >= 1, "
                             f"got {self.negatives_per_positive!r}")


@dataclass(frozen=True)
class FinetuneConfig:
    """End-to-end fine-tuning (encoder unfrozen + linear head, AdamW); off by default (slow on CPU)."""

    enabled: bool = False
    fractions: tuple[float, ...] = (0.01, 0.1, 1.0)
    seeds: tuple[int, ...] = (0,)
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4            # encoder learning rate
    head_lr: float = 1e-3       # linear head learning rate
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        _check_fractions(self.fractions, "evaluate.finetune.fractions")
        if not self.seeds:
            raise ValueError("evaluate.finetune.seeds: needs at least one seed")
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"evaluate.finetune.{key}: must be >= 1, got {getattr(self, key)!r}")
        for key in ("lr", "head_lr"):
            if not getattr(self, key) > 0:
                raise ValueError(f"evaluate.finetune.{key}: must be > 0, got {getattr(self, key)!r}")
        if self.weight_decay < 0:
            raise ValueError(f"evaluate.finetune.weight_decay: must be >= 0, got {self.weight_decay!r}")


@dataclass(frozen=True)
class RetrievalConfig:
    """Image→report retrieval on the MIMIC test split, CheXpert 5×200 style."""

    enabled: bool = True
    per_class: int = 200        # queries per competition pathology (fewer when the split has fewer)
    ks: tuple[int, ...] = (1, 5, 10)
    split: str = "test"         # MIMIC split held out from pretraining

    def __post_init__(self) -> None:
        if self.per_class < 1:
            raise ValueError(f"evaluate.retrieval.per_class: must be >= 1, got {self.per_class!r}")
        if not self.ks or any(int(k) < 1 for k in self.ks):
            raise ValueError(f"evaluate.retrieval.ks: needs positive integers, got {list(self.ks)}")
        if not self.split:
            raise ValueError("evaluate.retrieval.split: must name a split")


ZEROSHOT_TEMPLATES: tuple[tuple[str, str], ...] = (("{}", "no {}"), ("there is {}", "there is no {}"))
THRESHOLD_RULES: tuple[str, ...] = ("youden", "f1")  # igcl.evaluate.thresholds documents each


def _pairs(value, key: str) -> tuple[tuple[str, str], ...]:
    """A list of [positive, negative] prompt pairs as a tuple of string pairs; ValueError naming ``key``."""
    pairs = tuple(tuple(pair) if isinstance(pair, (list, tuple)) else (pair,) for pair in value)
    if not pairs or any(len(pair) != 2 or not all(isinstance(s, str) and s.strip() for s in pair) for pair in pairs):
        raise ValueError(f"{key}: needs a non-empty list of [positive, negative] prompt pairs, got {list(value)!r}")
    return pairs


@dataclass(frozen=True)
class ZeroShotConfig:
    """Zero-shot classification with prompt pairs (methods with a report encoder); see igcl.evaluate.zeroshot."""

    enabled: bool = True
    templates: tuple[tuple[str, str], ...] = ZEROSHOT_TEMPLATES  # [positive, negative] pairs, {} = pathology name
    prompts: dict = field(default_factory=dict)  # pathology -> [[positive, negative], ...] replacing the templates
    graphs: dict = field(default_factory=dict)   # pathology -> {positive: [graph], negative: [graph]} (graph methods)
    per_class: int = 200                          # images per class of the 5x200-style accuracy set

    def __post_init__(self) -> None:
        from igcl.labels import COMPETITION_PATHOLOGIES

        object.__setattr__(self, "templates", _pairs(self.templates, "evaluate.zeroshot.templates"))
        for pair in self.templates:
            if any(s.count("{}") != 1 for s in pair):
                raise ValueError(f"evaluate.zeroshot.templates: each prompt needs exactly one {{}} for the "
                                 f"pathology name, got {list(pair)}")
        for pathology, pairs in self.prompts.items():
            if pathology not in COMPETITION_PATHOLOGIES:
                raise ValueError(f"evaluate.zeroshot.prompts: unknown pathology {pathology!r}; known: "
                                 f"{', '.join(COMPETITION_PATHOLOGIES)}")
            _pairs(pairs, f"evaluate.zeroshot.prompts.{pathology}")
        from igcl.evaluate.prompts import check_prompt_graphs

        check_prompt_graphs(self.graphs, COMPETITION_PATHOLOGIES, "evaluate.zeroshot.graphs")
        if self.per_class < 1:
            raise ValueError(f"evaluate.zeroshot.per_class: must be >= 1, got {self.per_class!r}")


@dataclass(frozen=True)
class ThresholdConfig:
    """Thresholded metrics on the CheXpert test split, thresholds chosen on valid (igcl.evaluate.thresholds)."""

    enabled: bool = True
    rule: str = "youden"  # youden (max sensitivity + specificity - 1) | f1 (max F1), on the valid split

    def __post_init__(self) -> None:
        if self.rule not in THRESHOLD_RULES:
            raise ValueError(f"evaluate.thresholds.rule: {self.rule!r} is not one of {list(THRESHOLD_RULES)}")


@dataclass(frozen=True)
class EvaluateConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    uncertain: str = "ones"                 # ones (U-Ones) | zeros (U-Zeros) | ignore (drop those rows)
    views: tuple[str, ...] = ("PA", "AP", "FRONTAL")  # image views probed and tested (frontal; FRONTAL: blank AP/PA)
    n_bootstrap: int = 200                  # bootstrap resamples of the test images (1000 for real data)
    ci_level: float = 0.95
    batch_size: int = field(default=64, metadata=EXECUTION)  # images per forward pass during feature extraction
    device: str = field(default="auto", metadata=EXECUTION)  # auto (cuda when available) | cpu | cuda
    linear: LinearConfig = field(default_factory=LinearConfig)
    fewshot: FewShotConfig = field(default_factory=FewShotConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    zeroshot: ZeroShotConfig = field(default_factory=ZeroShotConfig)
    thresholds: ThresholdConfig = field(default_factory=ThresholdConfig)
    # radiologist operating points: auto (the phantom's simulated readers on the phantom, the shipped published
    # CheXpert-test readers on the real CheXpert test split, none otherwise) | none | a reader CSV's path
    radiologists: str = "auto"

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("evaluate.seeds: needs at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"evaluate.seeds: {list(self.seeds)} repeat a seed")
        if self.uncertain not in UNCERTAIN_POLICIES:
            raise ValueError(f"evaluate.uncertain: {self.uncertain!r} is not one of {list(UNCERTAIN_POLICIES)}")
        if not self.views:
            raise ValueError("evaluate.views: needs at least one view")
        if self.n_bootstrap < 10:
            raise ValueError(f"evaluate.n_bootstrap: must be >= 10, got {self.n_bootstrap!r}")
        if not 0.5 <= self.ci_level < 1.0:
            raise ValueError(f"evaluate.ci_level: must be in [0.5, 1), got {self.ci_level!r}")
        if self.batch_size < 1:
            raise ValueError(f"evaluate.batch_size: must be >= 1, got {self.batch_size!r}")
        if self.device not in DEVICES:
            raise ValueError(f"evaluate.device: {self.device!r} is not one of {list(DEVICES)}")
        if not isinstance(self.radiologists, str) or not self.radiologists.strip():
            raise ValueError("evaluate.radiologists: auto | none | the path of a reader CSV, got "
                             f"{self.radiologists!r}")
