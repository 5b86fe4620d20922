"""Named random streams: every seeded draw of the evaluate stage comes from one (seed, stream, context) cell.

A cell's Generator is ``default_rng(SeedSequence([seed, stream, *context]))``, so draws of different tasks,
settings and bootstraps never share a stream, and adding a task never shifts another's draws. The numbers are
part of the results (changing one changes every table that uses it): new streams take new numbers.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    PROBE_SUBSET = 1          # the linear probe's (and fine-tuning's) patient subset of a label fraction
    PROBE_BOOTSTRAP = 2       # linear-probe AUROC CIs
    FEWSHOT_SUBSET = 3        # the k positive / negative images of a few-shot cell
    FEWSHOT_BOOTSTRAP = 4     # few-shot AUROC CIs
    FINETUNE_BOOTSTRAP = 5    # fine-tuning AUROC CIs
    RETRIEVAL_QUERIES = 6     # the per-class query studies of retrieval
    RETRIEVAL_BOOTSTRAP = 7   # retrieval precision CIs
    THRESHOLDS_BOOTSTRAP = 8  # thresholded-metric CIs
    READERS_BOOTSTRAP = 9     # radiologist-comparison CIs
    ZEROSHOT_BOOTSTRAP = 10   # zero-shot AUROC CIs
    PROMPT_ACCURACY = 11      # the image→prompt accuracy set and its CI


def stream_rng(seed: int, stream: Stream, *context: int) -> np.random.Generator:
    """The Generator of one (seed, stream, context) cell (context: e.g. the setting's index)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), *map(int, context)]))
