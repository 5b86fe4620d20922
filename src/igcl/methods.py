"""The one list of pretraining methods and what sets each apart; the rules, the schema check, the CLI, the model
and the training loop read it instead of comparing method names.

==============  ============  =============================================  =======  ========
method          report side   trained with                                   trained  seeded
==============  ============  =============================================  =======  ========
``igcl``        ``graphs``    InfoNCE(image, report graph)                   yes      yes
``convirt``     ``text``      InfoNCE(image, report text)                    yes      yes
``image_only``  ``view``      InfoNCE(view 1, view 2), SimCLR-style, λ 0.5   yes      yes
``random``      none          nothing: the seeded, untrained encoder         no       yes
``pixels``      none          nothing learned: PCA of the stored pixels      no       no
==============  ============  =============================================  =======  ========

``random`` and ``pixels`` are the non-learned baselines every comparison includes. An unseeded method gives the
same encoder for every pretraining seed, so the workflow runs it once (at the first listed seed).
This module imports nothing heavy: the Snakefile reads it when the workflow is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a method pairs each image with during pretraining.
GRAPHS, TEXT, VIEW = "graphs", "text", "view"


@dataclass(frozen=True)
class Method:
    """``report_side``: graphs | text | view | None (untrained). ``image_to_other_weight``: a fixed λ that
    replaces ``pretrain.loss.image_to_other_weight`` (None: the config's). ``seeded``: the pretraining seed changes
    the encoder. ``baseline``: a non-learned reference the summary compares every method with. ``pixel_pca``: the
    image encoder is :class:`igcl.models.pixels.PixelPCA`, fitted at pretraining."""

    name: str
    report_side: str | None
    description: str
    image_to_other_weight: float | None = None
    seeded: bool = True
    baseline: bool = False
    pixel_pca: bool = False  # the image encoder is a PCA fitted on the pretraining images, not a timm network

    @property
    def trained(self) -> bool:
        return self.report_side is not None

    @property
    def has_report_encoder(self) -> bool:
        return self.report_side in (GRAPHS, TEXT)


REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("igcl", GRAPHS, "image-graph contrastive (report entity graphs)"),
    Method("convirt", TEXT, "image-text contrastive (report findings + impression)"),
    # both directions contrast two views of the same image: the loss is symmetric by construction
    Method("image_only", VIEW, "SimCLR-style, two augmented views", image_to_other_weight=0.5),
    Method("random", None, "untrained, seeded random initialisation", baseline=True),
    Method("pixels", None, "PCA of the stored pixels, fitted on the pretraining images", seeded=False,
           baseline=True, pixel_pca=True),
)}
METHOD_NAMES: tuple[str, ...] = tuple(REGISTRY)


def get_method(name: str) -> Method:
    """The registry entry of ``name``; ValueError listing the known methods otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHOD_NAMES)}") from None


def check_method_settings(name: str, *, augment_enabled: bool, where: str = "pretrain") -> None:
    """ValueError when the pretrain settings make method ``name`` meaningless: a ``view`` method (image_only)
    contrasts two augmented views of each image, and without augmentation they are the same image."""
    if get_method(name).report_side == VIEW and not augment_enabled:
        raise ValueError(f"{where}.augment.enabled is false, but {name} contrasts two augmented views of each "
                         "image: without augmentation they are identical and it learns nothing. Keep augmentation "
                         f"on for {name} (e.g. a variant {{method: {name}, pretrain: {{augment: {{enabled: true}}}}}})")


def method_seeds(name: str, seeds: list[int] | tuple[int, ...]) -> list[int]:
    """The pretraining seeds the workflow runs ``name`` at: all of ``seeds``, or the first for an unseeded one."""
    if not seeds:
        raise ValueError("pretrain.seeds is empty")
    return list(seeds) if get_method(name).seeded else [seeds[0]]
