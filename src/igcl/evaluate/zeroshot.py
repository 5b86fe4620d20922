"""Zero-shot classification with prompt pairs, for methods with a report encoder (no label is used).

Per pathology p, the prompts are pairs (positive, negative), e.g. ("pleural effusion", "no pleural effusion"):
the ``evaluate.zeroshot.templates`` with ``{}`` replaced by the pathology's name in lower case, or the pairs
``evaluate.zeroshot.prompts[p]`` written for it. Several pairs form a prompt ensemble (GLoRIA, MedCLIP): the
L2-normalised embeddings of all positive prompts are averaged and renormalised into one positive vector ``u_p``,
likewise the negative ones into ``v_p``. An image embedding ``x`` (projected, L2-normalised) scores

    P(p | x) = exp(x·u_p / t) / (exp(x·u_p / t) + exp(x·v_p / t)) = sigmoid((x·u_p − x·v_p) / t),

CheXzero's softmax over a positive/negative pair. ``t`` (:data:`TEMPERATURE`) only sharpens the probabilities:
their ranking, and so AUROC and every thresholded metric, does not depend on it.

Graph prompts (igcl, which no image-text anchor has): a graph method embeds each prompt as the graph igcl's own
parser makes of it ("no pleural effusion" is a definitely-absent effusion located at the pleura), or as a graph
written by hand in ``evaluate.zeroshot.graphs[p]``: ``{positive: [graph, ...], negative: [graph, ...]}`` with
``graph = {nodes: [{text, label}], edges: [{src, dst, relation}]}`` (RADGRAPH_SCHEMA labels and relations).

Image→prompt accuracy (CheXpert 5×200 style): test images with exactly one competition pathology positive, up to
``per_class`` per class (seeded draw); each is assigned the pathology whose positive prompt vector it is most
similar to. Accuracy with a bootstrap CI over those images; chance is Σ_c (n_c / N)².
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from igcl.evaluate.features import Normalize, embed_in_batches, l2_normalise, prepare_batch
from igcl.evaluate.metrics import bootstrap_counts, percentile_ci
from igcl.evaluate.prompts import SIDES, graph_row, prompt_key, prompt_pairs
from igcl.methods import GRAPHS, get_method

log = logging.getLogger(__name__)

TEMPERATURE = 0.1


def prompt_pair_probability(positive: np.ndarray, negative: np.ndarray, temperature: float) -> np.ndarray:
    """``exp(p/t) / (exp(p/t) + exp(n/t))`` elementwise, computed stably as ``sigmoid((p - n) / t)``."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(positive) - np.asarray(negative)) / temperature))


def prompt_vectors(pretrained, pathologies: Sequence[str], templates, prompts, graphs,
                   prompt_graphs: Mapping[str, dict] | None = None) -> tuple[np.ndarray, ...]:
    """``(positive [P, D], negative [P, D], descriptions)``: each pathology's ensemble prompt vectors (see the
    module docstring) and a readable description of the prompts used. A graph method embeds ``prompt_graphs``
    (key -> graph row: what the prompts stage parsed, :mod:`igcl.evaluate.prompt_graphs`) unless the config
    gives the pathology hand-written graphs."""
    graph_method = get_method(pretrained.method).report_side == GRAPHS
    pos, neg, described = [], [], []
    for pathology in pathologies:
        pairs = prompt_pairs(pathology, templates, prompts)
        if graph_method and pathology in graphs:
            where = f"evaluate.zeroshot.graphs.{pathology}"
            sides = [[graph_row(g, f"{where}.{side}[{i}]") for i, g in enumerate(graphs[pathology][side])]
                     for side in ("positive", "negative")]
            described.append(f"{pathology}: hand-written graphs")
        else:
            texts = [[a for a, _ in pairs], [b for _, b in pairs]]
            if graph_method:
                if prompt_graphs is None:
                    raise ValueError(f"{pretrained.method} embeds its prompts as graphs: pass prompt_graphs (the "
                                     "prompts stage's output, igcl.evaluate.prompt_graphs.read_prompt_graphs)")
                sides = [[prompt_graphs[prompt_key(pathology, side, i)] for i in range(len(pairs))]
                         for side in SIDES]
                described.append(f"{pathology}: parsed graphs of " + "; ".join(f"{a!r}/{b!r}" for a, b in pairs))
            else:
                sides = texts
                described.append(f"{pathology}: " + "; ".join(f"{a!r}/{b!r}" for a, b in pairs))
        vectors = []
        for side in sides:
            embedded = (pretrained.embed_reports(graphs=side) if graph_method
                        else pretrained.embed_reports(texts=side)).float().cpu().numpy()
            vectors.append(l2_normalise(l2_normalise(embedded).mean(axis=0, keepdims=True))[0])
        pos.append(vectors[0])
        neg.append(vectors[1])
    return np.stack(pos), np.stack(neg), tuple(described)


def embed_image_rows(pretrained, images: np.ndarray, rows: np.ndarray, normalize: Normalize, *, batch_size: int,
                     device) -> np.ndarray:
    """Projected, L2-normalised embeddings ``[len(rows), D]`` of ``images[rows]`` (the space prompts live in)."""
    if len(rows) == 0:
        return np.zeros((0, pretrained.model.spec.projection_dim), np.float32)
    return embed_in_batches(
        pretrained.embed_images, len(rows), batch_size,
        lambda a, b: (prepare_batch(images[rows[a:b]], normalize, pretrained.image_size, device),),
        f"{pretrained.method}: embed_images")


def zero_shot_scores(image_vectors: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Per-image, per-pathology prompt-pair probabilities ``[n, P]`` from L2-normalised ``image_vectors`` [n, D]."""
    return prompt_pair_probability(image_vectors @ positive.T, image_vectors @ negative.T, TEMPERATURE)


def single_label_images(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and classes of the images with exactly one pathology positive and the rest negative (not NaN)."""
    targets = np.asarray(targets)
    one = (np.nan_to_num(targets, nan=-1.0) == 1.0).sum(axis=1) == 1
    complete = np.isfinite(targets).all(axis=1)
    index = np.flatnonzero(one & complete)
    return index, np.argmax(targets[index] == 1.0, axis=1)


def prompt_accuracy(image_vectors: np.ndarray, positive: np.ndarray, targets: np.ndarray, *, per_class: int,
                    n_bootstrap: int, level: float, rng: np.random.Generator) -> dict:
    """Image→prompt accuracy on the single-label images (up to ``per_class`` per class, drawn with ``rng``):
    value, ci_low, ci_high, n, n_pos (images correct), chance, n_skipped, status."""
    index, classes = single_label_images(targets)
    picked = []
    for c in range(targets.shape[1]):
        members = index[classes == c]
        picked.append(rng.choice(members, size=min(per_class, members.size), replace=False))
    chosen = np.sort(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    row = {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": int(chosen.size),
           "n_pos": 0, "n_skipped": n_bootstrap, "chance": float("nan")}
    if chosen.size == 0:
        return {**row, "status": "no test image has exactly one competition pathology"}
    truth = np.argmax(targets[chosen] == 1.0, axis=1)
    correct = (np.argmax(image_vectors[chosen] @ positive.T, axis=1) == truth).astype(np.float64)
    counts = bootstrap_counts(chosen.size, n_bootstrap, rng)
    low, high, skipped = percentile_ci(counts @ correct / chosen.size, level)
    share = np.bincount(truth, minlength=targets.shape[1]) / chosen.size
    return {**row, "value": float(correct.mean()), "ci_low": low, "ci_high": high, "n_pos": int(correct.sum()),
            "n_skipped": skipped, "chance": float((share ** 2).sum()), "status": "ok"}
