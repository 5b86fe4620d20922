"""igcl from Python: load a pretrained run's folder, embed images and reports, parse report text into graphs.

    import igcl
    model = igcl.load("results/pretrain/igcl/seed0")     # any method's run folder; nothing is downloaded
    image_vectors = model.embed_images(images)            # uint8 [B, H, W] at any size -> [B, D], L2-normalised
    report_vectors = model.embed_reports(texts=reports)   # igcl parses them to graphs first; convirt reads text
    graphs = igcl.parse(reports)                          # GRAPH_SCHEMA rows (igcl's RadGraph-schema parser)
    p = model.zero_shot(images, ["pleural effusion"], ["no pleural effusion"])  # [B, 1] prompt-pair probability

Images go through the pipeline's own preprocessing (``igcl.data.imageshards.reader.normalize_images``, then a bilinear
resize to the side the encoder was trained at), so a radiograph embedded here matches one embedded by ``igcl evaluate``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from igcl.data.imageshards.reader import normalize_images
from igcl.evaluate.zeroshot import embed_image_rows, prompt_pair_probability
from igcl.methods import GRAPHS, get_method
from igcl.models.checkpoint import Pretrained, load_pretrained

BATCH = 64  # images per forward pass


def parse(texts: Sequence[str]) -> list[dict[str, Any]]:
    """Report texts -> their entity-relation graphs as GRAPH_SCHEMA rows (``study_id`` is the text's index)."""
    from igcl.reports.parser import ReportParser

    if isinstance(texts, str):
        raise TypeError("parse takes a sequence of report texts, not one string (wrap it in a list)")
    return [graph.to_row(str(i)) for i, graph in enumerate(ReportParser().parse_many(texts))]


class Model:
    """A pretrained encoder pair (see :func:`load`). ``method``, ``image_size``, ``has_report_encoder`` and
    ``feature_dim`` (the image backbone's feature size) describe it; ``pretrained`` is the underlying
    :class:`igcl.models.checkpoint.Pretrained`."""

    def __init__(self, pretrained: Pretrained) -> None:
        self.pretrained = pretrained
        self.method: str = pretrained.method
        self.image_size: int = pretrained.image_size
        self.has_report_encoder: bool = pretrained.has_report_encoder
        self.feature_dim: int = pretrained.feature_dim

    def __repr__(self) -> str:
        return f"igcl.Model(method={self.method!r}, image_size={self.image_size})"

    @torch.no_grad()
    def embed_images(self, images: np.ndarray) -> np.ndarray:
        """uint8 grey images ``[B, H, W]`` (any side: resized to ``image_size``) -> float32 ``[B, D]``, L2-normalised
        (the projection the contrastive loss was trained on)."""
        images = np.asarray(images)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"embed_images takes uint8 grey images [B, H, W], got {images.dtype} {images.shape}")
        return embed_image_rows(self.pretrained, images, np.arange(len(images)), normalize_images, batch_size=BATCH,
                                device=self.pretrained.device)

    @torch.no_grad()
    def embed_reports(self, texts: Sequence[str] | None = None,
                      graphs: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        """Reports -> float32 ``[B, D]``, L2-normalised, in the images' space. A graph method (igcl) reads
        ``graphs`` (GRAPH_SCHEMA rows), or parses ``texts`` with igcl's parser; a text method (convirt) reads
        ``texts``. ValueError for a method without a report encoder."""
        if not self.has_report_encoder:
            raise ValueError(f"method {self.method!r} has no report encoder: it cannot embed reports")
        if get_method(self.method).report_side == GRAPHS and graphs is None:
            if texts is None:
                raise ValueError("embed_reports needs texts= or graphs=")
            graphs = parse(texts)
        return self.pretrained.embed_reports(texts=texts, graphs=graphs).cpu().numpy()


    def zero_shot(self, images: np.ndarray, positive: Sequence[str], negative: Sequence[str], *,
                  temperature: float = 0.1) -> np.ndarray:
        """Zero-shot probabilities ``[B, P]`` (CheXzero's prompt pairs): for each pair ``(positive[j],
        negative[j])``, e.g. ("pleural effusion", "no pleural effusion"), the softmax of the image's cosine
        similarities to the two prompts divided by ``temperature``, taken at the positive prompt. A graph method
        embeds the prompts as the graphs igcl's parser makes of them (a graph prompt: "no pleural effusion" is a
        definitely-absent entity). ``temperature`` only sharpens the probabilities; their ranking, and so AUROC,
        does not depend on it."""
        if len(positive) != len(negative) or not positive:
            raise ValueError(f"zero_shot takes as many negative prompts as positive ones (>= 1), got "
                             f"{len(positive)} and {len(negative)}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        image_vectors = self.embed_images(images)
        pos = image_vectors @ self.embed_reports(texts=list(positive)).T
        neg = image_vectors @ self.embed_reports(texts=list(negative)).T
        return prompt_pair_probability(pos, neg, temperature)


def load(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Model:
    """Load a run folder (``results/pretrain/{method}/seed{N}``: checkpoint.safetensors, config.json and the
    vocabulary or tokenizer) onto ``device``, in eval mode. ValueError naming the folder when it is not one."""
    return Model(load_pretrained(path, map_location=device))
