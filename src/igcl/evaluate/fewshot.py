"""Few-shot probe: per pathology, a linear probe on k positive and k × r negative training images."""

from __future__ import annotations

import numpy as np

from igcl.evaluate.probe import ProbeData, fit_probe_scores, metric_records, score_records
from igcl.rng import Stream, stream_rng
from igcl.evaluate.sampling import sample_few_shot


def run_few_shot(data: ProbeData, *, method: str, ks: tuple[int, ...], negatives_per_positive: int,
                 seeds: tuple[int, ...], C: float, max_iter: int, n_bootstrap: int,
                 level: float) -> tuple[list[dict], list[dict]]:
    """For each k and seed: one probe per pathology on its own few-shot subset → (metric rows, score rows).

    The training-count columns describe each pathology's own subset; the mean row's n_train is their sum.
    """
    metrics, scores_out = [], []
    n_path = len(data.pathologies)
    for k_index, k in enumerate(ks):
        for seed in seeds:
            rng = stream_rng(seed, Stream.FEWSHOT_SUBSET, k_index)
            scores = np.full((len(data.test_x), n_path), np.nan)
            used_targets = np.full((0, n_path), np.nan)
            for p in range(n_path):
                index = sample_few_shot(data.train_patients, data.train_targets[:, p], int(k),
                                        int(k) * negatives_per_positive, rng)
                y = data.train_targets[index, p]
                # the rows of this pathology's subset count only towards its own training columns
                block = np.full((len(index), n_path), np.nan)
                block[:, p] = y
                used_targets = np.concatenate([used_targets, block])
                if 0 < y.sum() < y.size:
                    scores[:, p] = fit_probe_scores(data.train_x[index], y, data.test_x, C=C, max_iter=max_iter)
            setting = {"k": int(k)}
            metrics += metric_records(method, "fewshot", setting, seed, data, scores, used_targets,
                                      n_bootstrap=n_bootstrap, level=level, rng=stream_rng(seed, Stream.FEWSHOT_BOOTSTRAP, k_index))
            scores_out += score_records(method, "fewshot", setting, seed, data, scores)
    return metrics, scores_out
