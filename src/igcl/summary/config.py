"""Typed config of the ``report`` stage (config.yaml ``report:``): what the summary shows and how comparisons are
bootstrapped. Light (standard library only): the workflow checks it when it is read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportConfig:
    """What the summary puts in its headline table and plots."""

    fewshot_k: tuple[int, ...] = (1, 5, 10)  # few-shot columns of the headline table
    retrieval_k: int = 5                     # precision@k column of the headline table
    roc_fraction: float = 1.0                # linear-probe label fraction whose test scores the ROC plot shows
    dpi: int = 120
    comparison_bootstrap: int = 1000         # paired bootstrap resamples of each method-vs-method difference
    ci_level: float = 0.95                   # confidence level of those paired intervals

    def __post_init__(self) -> None:
        if any(int(k) < 1 for k in self.fewshot_k):
            raise ValueError(f"report.fewshot_k: needs positive integers, got {list(self.fewshot_k)}")
        if self.retrieval_k < 1:
            raise ValueError(f"report.retrieval_k: must be >= 1, got {self.retrieval_k!r}")
        if not 0.0 < self.roc_fraction <= 1.0:
            raise ValueError(f"report.roc_fraction: must be in (0, 1], got {self.roc_fraction!r}")
        if not 30 <= self.dpi <= 600:
            raise ValueError(f"report.dpi: must be in [30, 600], got {self.dpi!r}")
        if self.comparison_bootstrap < 10:
            raise ValueError(f"report.comparison_bootstrap: must be >= 10, got {self.comparison_bootstrap!r}")
        if not 0.5 <= self.ci_level < 1.0:
            raise ValueError(f"report.ci_level: must be in [0.5, 1), got {self.ci_level!r}")
