"""Acquisition "sites": the nuisance variation of one image, drawn from a site's ranges.

Pretraining (MIMIC-like) and evaluation (CheXpert-like) images come from different sites -- different exposure,
contrast curve, noise, sharpness, collimation and text markers -- so a downstream evaluation measures transfer
across acquisition settings, as with the real data sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Site:
    """Ranges (lo, hi) from which each image's :class:`Nuisance` is drawn uniformly."""

    name: str
    contrast: tuple[float, float]
    gamma: tuple[float, float]
    noise: tuple[float, float]
    blur: tuple[float, float]
    collimation: tuple[float, float]     # margin per border, fraction of the side
    background: float                    # level of the collimated border (0 black .. 1 white)
    marker: str                          # side marker text, drawn at the patient's left (image right) or right
    marker_on_patient_left: bool
    label_text: tuple[str, ...]          # extra annotation burned in by the modality (one picked per image)


SITES: dict[str, Site] = {
    "mimic": Site("mimic", contrast=(0.95, 1.2), gamma=(0.85, 1.05), noise=(0.008, 0.02), blur=(0.4, 0.8),
                  collimation=(0.0, 0.03), background=0.0, marker="L", marker_on_patient_left=True,
                  label_text=("", "PORTABLE", "UPRIGHT")),
    "chexpert": Site("chexpert", contrast=(0.95, 1.2), gamma=(1.1, 1.35), noise=(0.02, 0.04), blur=(0.9, 1.4),
                     collimation=(0.03, 0.08), background=0.85, marker="R", marker_on_patient_left=False,
                     label_text=("", "SUPINE", "SEMI-ERECT", "AP")),
}


@dataclass(frozen=True)
class Nuisance:
    """One image's acquisition and positioning: what changes between images of the same anatomy.

    ``rotation_deg`` and ``shift`` move the patient in the field, ``zoom`` is the geometric magnification (AP
    films sit farther from the detector), ``contrast``/``gamma`` the exposure curve, ``noise`` the std of added
    Gaussian noise (0..1 scale), ``blur`` a Gaussian radius in pixels at 256 px, ``collimation`` the margins
    (top, bottom, left, right) as fractions of the side.
    """

    site: str
    rotation_deg: float
    shift: tuple[float, float]
    zoom: float
    contrast: float
    gamma: float
    noise: float
    blur: float
    collimation: tuple[float, float, float, float]
    label_text: str


def sample_nuisance(site_name: str, projection: str, rng: np.random.Generator) -> Nuisance:
    """Draw one image's nuisance parameters for ``site_name`` and ``projection`` (PA, AP or LATERAL)."""
    if site_name not in SITES:
        raise ValueError(f"unknown phantom site {site_name!r}; known: {sorted(SITES)}")
    site = SITES[site_name]

    def draw(bounds: tuple[float, float]) -> float:
        return float(rng.uniform(*bounds))

    zoom = float(rng.uniform(1.03, 1.1)) if projection == "AP" else float(rng.uniform(0.94, 1.02))
    return Nuisance(
        site=site.name,
        rotation_deg=float(rng.uniform(-4.0, 4.0)),
        shift=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.03, 0.04))),
        zoom=zoom,
        contrast=draw(site.contrast),
        gamma=draw(site.gamma),
        noise=draw(site.noise),
        blur=draw(site.blur),
        collimation=tuple(draw(site.collimation) for _ in range(4)),  # type: ignore[arg-type]
        label_text=str(site.label_text[int(rng.integers(len(site.label_text)))]),
    )
