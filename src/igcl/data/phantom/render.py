"""Grayscale chest radiograph phantoms with lesion masks, rendered with numpy.

:func:`render` draws one image from an :class:`ImageSpec`: anatomy (body habitus, heart size, inspiration), the
image's :class:`~igcl.data.phantom.sites.Nuisance` (rotation, shift, magnification, exposure curve, noise, blur,
collimation, burned-in markers), and the study's visible findings. It returns the image and one boolean lesion
mask per drawn finding, so the mask lies exactly where the finding was drawn.

Geometry is computed in *body coordinates* (u, v) in [0, 1]: u from the image's left edge to its right, v from top
to bottom, before rotation/shift/zoom. Frontal views follow radiological convention: the patient's right is on
the image's left (u < 0.5), the patient's left on the image's right. Lateral views have anterior on the left.
What each finding looks like (frontal):

- Cardiomegaly: a wider cardiac silhouette (cardiothoracic ratio 0.54/0.60/0.67 vs 0.38-0.50 normal).
- Pleural Effusion: fluid density filling the lung base of the named side up to a meniscus rising laterally
  (small fills the costophrenic angle, large a quarter of the lung).
- Consolidation / Lung Opacity: a dense (resp. fainter, patchy) irregular patch in the named lobe's zone.
- Edema: a bilateral perihilar haze (and Kerley B lines at the bases when moderate/severe).
- Pneumothorax: a thin visceral pleural line with hyperlucent space and no lung markings at the named apex.
- Atelectasis: linear (plate-like) opacities at the named lung base(s).
- Lung Lesion: a round nodule or lobulated mass; Fracture: a gap (acute) or callus (healed) in the named rib;
  Pleural Other: an apical pleural cap; Enlarged Cardiomediastinum: a widened upper mediastinum.
- Support Devices: radio-opaque tubes and lines (ET tube, enteric tube, IJ line, PICC, pacemaker and leads).

Lateral views draw Cardiomegaly, Pleural Effusion (posterior costophrenic sulcus), Consolidation, Lung Opacity,
Lung Lesion, Edema, Atelectasis and tubes/lines; the other findings have no mask on a lateral.

Mask keys are :attr:`Finding.mask_key` (``Observation|location``); bilateral effusion or atelectasis is one mask.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from igcl.data.phantom.findings import Finding
from igcl.data.phantom.sites import SITES, Nuisance

# Zone centres of each lobe, frontal: (signed distance from midline in habitus units, v). Negative = image left
# = patient's right.
LOBE_CENTRES = {
    "right upper lobe": (-0.19, 0.31), "right middle lobe": (-0.13, 0.56), "right lower lobe": (-0.20, 0.64),
    "left upper lobe": (0.19, 0.32), "lingula": (0.16, 0.55), "left lower lobe": (0.21, 0.65),
}
# Lateral: (u, v) with anterior on the left.
LATERAL_LOBE_CENTRES = {
    "right upper lobe": (0.48, 0.30), "left upper lobe": (0.50, 0.29), "right middle lobe": (0.36, 0.55),
    "lingula": (0.37, 0.54), "right lower lobe": (0.64, 0.66), "left lower lobe": (0.65, 0.67),
}
# What each severity grade draws: every graded size in one place (an ungraded finding draws as mild).
CARDIOMEGALY_CTR = {"mild": 0.54, "moderate": 0.6, "severe": 0.67}          # cardiothoracic ratio, both views
EFFUSION_HEIGHT = {"mild": 0.07, "moderate": 0.15, "severe": 0.25}          # fluid height at the base, frontal
LATERAL_EFFUSION_HEIGHT = {"mild": 0.06, "moderate": 0.13, "severe": 0.22}  # ... in the posterior sulcus, lateral
PATCH_RADIUS = {"mild": 0.06, "moderate": 0.085, "severe": 0.11}            # consolidation / opacity, both views
EDEMA_AMPLITUDE = {"mild": 0.05, "moderate": 0.08, "severe": 0.12}          # perihilar haze, both views
PNEUMOTHORAX_DEPTH = {"mild": 0.07, "moderate": 0.13, "severe": 0.2}        # apical rim of the collapse, frontal
PNEUMOTHORAX_END = {"mild": 0.45, "moderate": 0.62, "severe": 0.78}         # how far down the rim reaches
ATELECTASIS_THICKNESS = {"mild": 0.012, "moderate": 0.018, "severe": 0.018, None: 0.018}  # plates, frontal
SEVERITY_SCALE = {"mild": 0.0, "moderate": 1.0, "severe": 2.0, None: 0.0}


def graded(table: dict[str, float], severity: str | None) -> float:
    """``table``'s value for ``severity`` (an ungraded finding draws as mild)."""
    return table[severity or "mild"]


@dataclass(frozen=True)
class Anatomy:
    """The patient: ``habitus`` scales chest width (0.88-1.1), ``ctr`` the normal cardiothoracic ratio,
    ``inspiration`` shifts the diaphragm (v units, + = lower, deeper breath), ``female`` adds breast shadows."""

    habitus: float
    ctr: float
    inspiration: float
    female: bool


def sample_anatomy(rng: np.random.Generator, female: bool) -> Anatomy:
    return Anatomy(habitus=float(rng.uniform(0.88, 1.08)), ctr=float(rng.uniform(0.38, 0.50)),
                   inspiration=float(rng.uniform(-0.04, 0.03)), female=female)


@dataclass(frozen=True)
class ImageSpec:
    """Everything :func:`render` needs; ``projection`` is PA, AP or LATERAL; ``texture_seed`` seeds lung
    markings, lesion shapes' noise and image noise (same seed, same pixels)."""

    projection: str
    size: int
    anatomy: Anatomy
    nuisance: Nuisance
    findings: tuple[Finding, ...]
    texture_seed: int


# ---------------------------------------------------------------------------------------------------------------
# Small vectorised drawing helpers on (u, v) grids of shape [size, size].


def _soft(mask: np.ndarray, radius: float) -> np.ndarray:
    """Blur a boolean mask into a [0, 1] float map (edges ``radius`` pixels wide).

    Edges narrower than 1.5 px are left to the final blur of :func:`_finish` (one blur instead of dozens)."""
    if radius < 1.5:
        return mask.astype(np.float32)
    img = Image.fromarray(mask.astype(np.uint8) * 255, "L").filter(ImageFilter.BoxBlur(radius))
    return np.asarray(img, dtype=np.float32) * (1.0 / 255.0)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field in [-1, 1] of shape [size, size] with about ``cells`` blobs per side."""
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, "F").resize((size, size), Image.BICUBIC), dtype=np.float32)


def _window(u: np.ndarray, v: np.ndarray, u_lo: float, u_hi: float, v_lo: float, v_hi: float
            ) -> tuple[slice, slice]:
    """Pixel rows/columns that can hold body points in the box (u_lo..u_hi, v_lo..v_hi).

    The grid is rotated by at most a few degrees, so the middle row/column bound the box up to a 0.05 margin."""
    n = u.shape[0]
    margin = 0.05
    rows = np.nonzero((v[:, n // 2] >= v_lo - margin) & (v[:, n // 2] <= v_hi + margin))[0]
    cols = np.nonzero((u[n // 2, :] >= u_lo - margin) & (u[n // 2, :] <= u_hi + margin))[0]
    if len(rows) == 0 or len(cols) == 0:
        return slice(0, 0), slice(0, 0)
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def _segment_distance(u: np.ndarray, v: np.ndarray, points: list[tuple[float, float]],
                      reach: float = 0.05) -> np.ndarray:
    """Distance from every (u, v) to the polyline through ``points``; exact within ``reach`` of it, and at
    least ``reach`` elsewhere (only a window around the line is computed)."""
    best = np.full(u.shape, np.inf, dtype=np.float32)
    pu = [p[0] for p in points]
    pv = [p[1] for p in points]
    rs, cs = _window(u, v, min(pu) - reach, max(pu) + reach, min(pv) - reach, max(pv) + reach)
    uw, vw, bw = u[rs, cs], v[rs, cs], best[rs, cs]
    for (u0, v0), (u1, v1) in zip(points[:-1], points[1:]):
        du, dv = u1 - u0, v1 - v0
        length2 = du * du + dv * dv or 1e-9
        t = np.clip(((uw - u0) * du + (vw - v0) * dv) * (1.0 / length2), 0.0, 1.0)
        d = np.hypot(uw - (u0 + t * du), vw - (v0 + t * dv))
        np.minimum(bw, d, out=bw)
    return best


def _ellipse(u: np.ndarray, v: np.ndarray, cu: float, cv: float, au: float, av: float) -> np.ndarray:
    return ((u - cu) / au) ** 2 + ((v - cv) / av) ** 2


def _grid(spec: ImageSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Body coordinates (u, v) of every pixel centre of an [n, n] grid, after rotation, shift and zoom."""
    x = (np.arange(n, dtype=np.float32) + 0.5) / n
    xx, yy = np.meshgrid(x, x)
    nu = spec.nuisance
    dx, dy = xx - 0.5 - nu.shift[0], yy - 0.5 - nu.shift[1]
    c, s = math.cos(math.radians(nu.rotation_deg)), math.sin(math.radians(nu.rotation_deg))
    u = (c * dx + s * dy) / nu.zoom + 0.5
    v = (-s * dx + c * dy) / nu.zoom + 0.5
    return u.astype(np.float32), v.astype(np.float32)


def _blob(u, v, cu, cv, ru, rv, rng, size) -> np.ndarray:
    """An irregular patch: an ellipse field (< 1 inside) whose edge is wobbled by smooth noise, [size, size]."""
    return _ellipse(u, v, cu, cv, ru, rv) + 0.8 * _smooth_noise(rng, size, 9)


# ---------------------------------------------------------------------------------------------------------------
# Frontal view.


class _Frontal:
    """Frontal (PA/AP) geometry for one image; each ``draw_*`` adds density and returns the lesion mask."""

    def __init__(self, spec: ImageSpec, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> None:
        self.spec, self.u, self.v, self.rng = spec, u, v, rng
        a = spec.anatomy
        self.w = a.habitus
        self.size = u.shape[0]
        self.px = 1.0 / self.size  # thin lines are kept at least about a pixel wide
        findings = {f.observation: f for f in spec.findings}
        ctr = a.ctr
        if "Cardiomegaly" in findings:
            ctr = graded(CARDIOMEGALY_CTR, findings["Cardiomegaly"].severity)
        self.ctr = ctr * (1.08 if spec.projection == "AP" else 1.0)
        self.mediastinum_half = 0.052 * self.w
        if "Enlarged Cardiomediastinum" in findings:
            sev = findings["Enlarged Cardiomediastinum"].severity
            self.mediastinum_half = (0.09 if sev == "mild" else 0.11) * self.w
        self.base = {"right": 0.775 + a.inspiration, "left": 0.795 + a.inspiration}
        for f in spec.findings:  # volume loss raises the hemidiaphragm on the collapsed side
            if f.observation == "Atelectasis" and f.severity == "moderate":
                for side in self._sides(f.location):
                    self.base[side] -= 0.025
        self.dx = (u - 0.5) / self.w  # signed distance from midline in habitus units

    @staticmethod
    def _sides(location: str) -> tuple[str, ...]:
        return ("right", "left") if location == "bilateral" else (location,)

    def lung_centre(self, side: str) -> float:
        return 0.5 + (-0.185 if side == "right" else 0.185) * self.w

    def lung_rho(self, side: str) -> np.ndarray:
        """Normalised radius of the lung outline (1 on the pleura), wider laterally than medially."""
        cu = self.lung_centre(side)
        lateral = (self.u < cu) if side == "right" else (self.u > cu)
        au = np.where(lateral, 0.170, 0.135).astype(np.float32) * self.w
        return np.sqrt(((self.u - cu) / au) ** 2 + ((self.v - 0.545) / 0.385) ** 2)

    def dome(self, side: str) -> np.ndarray:
        cu = self.lung_centre(side)
        return self.base[side] - 0.075 * np.clip(1 - ((self.u - cu) / (0.2 * self.w)) ** 2, 0, 1)

    def heart(self) -> np.ndarray:
        width = self.ctr * 0.71 * self.w
        cu = 0.5 + width / 6
        cv = 0.645 + self.spec.anatomy.inspiration / 2
        return (_ellipse(self.u, self.v, cu, cv, width / 2, 0.13 + 0.12 * (self.ctr - 0.45))) < 1.0

    def mediastinum(self) -> np.ndarray:
        knob = _ellipse(self.u, self.v, 0.5 + 0.055 * self.w, 0.33, 0.032 * self.w, 0.03) < 1
        return ((np.abs(self.u - 0.505) < self.mediastinum_half) & (self.v > 0.08) & (self.v < 0.62)) | knob

    def compose(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        u, v, w, rng, n = self.u, self.v, self.w, self.rng, self.size
        masks: dict[str, np.ndarray] = {}
        # Soft tissue: thickness of an elliptic body cross-section; shoulders slope into the neck.
        half = 0.09 + (0.44 * w - 0.09) * np.clip((v - 0.02) / 0.13, 0, 1) ** 0.6
        body = np.clip(1 - ((u - 0.5) / half) ** 2, 0, 1)
        density = 0.5 * np.sqrt(body)
        heart, mediastinum = self.heart(), self.mediastinum()
        self.lungs = {}
        for side in ("right", "left"):
            lung = (self.lung_rho(side) < 1) & (v < self.dome(side)) & (v > 0.14) & ~heart & ~mediastinum
            self.lungs[side] = lung
        lungs = self.lungs["right"] | self.lungs["left"]
        # Pneumothorax: collapsed lung edge; the space outside it has no markings.
        ptx_space = np.zeros_like(lungs)
        pleural_line = np.zeros(u.shape, np.float32)
        for f in self.spec.findings:
            if f.observation == "Pneumothorax" and f.visible:
                side = f.location
                delta0 = graded(PNEUMOTHORAX_DEPTH, f.severity)
                v_end = graded(PNEUMOTHORAX_END, f.severity)
                delta = delta0 * np.clip((v_end - v) / (v_end - 0.15), 0, 1) ** 0.7
                rho = self.lung_rho(side)
                space = self.lungs[side] & (rho > 1 - delta) & (delta > 0.004)
                line = self.lungs[side] & (np.abs(rho - (1 - delta)) < max(0.012, 3 * self.px)) & (delta > 0.004)
                ptx_space |= space
                pleural_line += line
                masks[f.mask_key] = space
        # Lung markings: vessels radiating from each hilum, fading to the periphery.
        markings = np.zeros(u.shape, np.float32)
        for side, sign in (("right", -1), ("left", 1)):
            hu, hv = 0.5 + sign * 0.095 * w, 0.47
            r = np.hypot(u - hu, v - hv)
            theta = np.arctan2(v - hv, u - hu)
            spokes = rng.random(241).astype(np.float32) ** 7
            streaks = spokes[((theta + np.pi) * (240 / (2 * np.pi))).astype(np.intp)]
            markings += streaks * np.exp(r * (-1 / 0.16)) * (r > 0.015)
        markings += 0.25 * np.exp(-np.minimum(np.hypot(u - 0.5 + 0.095 * w, v - 0.47),
                                              np.hypot(u - 0.5 - 0.095 * w, v - 0.47)) / 0.05)
        markings = markings * (1 + 0.35 * _smooth_noise(rng, n, 24))
        lung_soft = _soft(lungs, 1.5)
        density = density * (1 - 0.52 * lung_soft) + 0.2 * markings * (lungs & ~ptx_space)
        density -= 0.06 * ptx_space
        density += 0.16 * pleural_line
        # Mediastinum and heart over the spine (the heart's lower edge hides in the left dome); trachea and
        # main bronchi are air.
        density += 0.08 * _soft(heart & (body > 0) & (v < self.dome("left") + 0.01), 1.5) + 0.05 * mediastinum
        trachea = ((np.abs(u - 0.5) < 0.014 * w) & (v < 0.37) & (v > 0.02)) | (
            _segment_distance(u, v, [(0.5 - 0.075 * w, 0.45), (0.5, 0.37), (0.5 + 0.08 * w, 0.46)]) < 0.008)
        density -= 0.07 * _soft(trachea, 1.0)
        # Abdomen below the domes, gastric air under the left dome.
        below = ((u < 0.5) & (v > self.dome("right"))) | ((u >= 0.5) & (v > self.dome("left")))
        density += 0.05 * below * (body > 0)
        bubble = _ellipse(u, v, 0.5 + 0.16 * w, self.base["left"] + 0.05, 0.05 * w, 0.025) < 1
        density -= 0.08 * _soft(bubble, 2.0)
        if self.spec.anatomy.female:
            for sign in (-1, 1):
                breast = _ellipse(u, v, 0.5 + sign * 0.25 * w, 0.8, 0.16 * w, 0.14) < 1
                density += 0.05 * _soft(breast, 4.0)
        density += self._bones()
        for f in self.spec.findings:
            if f.visible and f.observation != "Pneumothorax":
                added, mask = self._finding(f)
                density += added
                if mask is not None:
                    masks[f.mask_key] = masks.get(f.mask_key, np.zeros_like(mask)) | mask
        return density, masks

    def _bones(self) -> np.ndarray:
        u, v, w = self.u, self.v, self.w
        d = np.abs(self.dx)
        bones = np.zeros(u.shape, np.float32)
        # Spine with vertebral bodies (disc spaces darker).
        spine = np.abs(u - 0.5) < 0.035 * w
        discs = ((v * (1.0 / 0.045)) % 1.0) < 0.8
        bones += spine * np.where(discs, 0.09, 0.06).astype(np.float32)
        # Posterior ribs: one periodic band field, ribs 1-10 (arc up then down toward the chest wall).
        self.rib_start, self.rib_spacing = 0.13, 0.058
        t = (v - self.rib_start + 0.15 * d - 1.25 * d * d) * (1.0 / self.rib_spacing)
        centred = np.abs(t - np.floor(t) - 0.5)          # 0 in the middle of a rib, 0.5 between ribs
        q = np.minimum(centred * (1.0 / 0.26), 1.0)
        q *= q
        band = 1.0 - q * q                                # flat-topped band about half a spacing wide
        cortex = np.maximum(0.0, 1.0 - np.abs(centred - 0.22) * (1.0 / 0.05))
        inside = (t >= 0) & (t < 10) & (d > 0.035) & (d < 0.40)
        ribs = (band + 0.5 * cortex) * inside
        # Anterior ribs: fainter, sloping down toward the midline.
        ta = (v - 0.2 + 0.35 * d) * (1.0 / 0.07)
        ca = np.abs(ta - np.floor(ta) - 0.5)
        ribs += 0.4 * np.maximum(0.0, 1.0 - ca * (1.0 / 0.2)) * ((ta > 0) & (ta < 6) & (d > 0.06) & (d < 0.38))
        self.ribs = ribs
        bones += 0.04 * ribs
        # Clavicles: from the sternal notch out and up to the shoulders.
        for sign in (-1, 1):
            clav = _segment_distance(u, v, [(0.5 + sign * 0.035 * w, 0.19), (0.5 + sign * 0.17 * w, 0.15),
                                            (0.5 + sign * 0.32 * w, 0.11)])
            bones += 0.14 * (clav < 0.017)
        return bones

    def _anchor(self, location: str, seed: int) -> tuple[float, float]:
        jitter = np.random.default_rng(seed).uniform(-0.02, 0.02, size=2)
        du, cv = LOBE_CENTRES[location]
        return 0.5 + du * self.w + float(jitter[0]) * self.w, cv + float(jitter[1])

    def _finding(self, f: Finding) -> tuple[np.ndarray, np.ndarray | None]:
        """Density added by finding ``f`` and its mask (None: nothing to mask), from :data:`FRONTAL_DRAWERS`."""
        drawer = FRONTAL_DRAWERS.get(f.observation)
        if drawer is None:  # Pneumonia is drawn as its consolidation; No Finding draws nothing
            return np.zeros(self.u.shape, np.float32), None
        return drawer(self, f, np.random.default_rng(f.shape_seed))

    @property
    def both_lungs(self) -> np.ndarray:
        return self.lungs["right"] | self.lungs["left"]

    def _cardiomegaly(self, f: Finding, shape_rng: np.random.Generator):
        return np.zeros(self.u.shape, np.float32), self.heart()  # drawn through the wider heart in compose()

    def _wide_mediastinum(self, f: Finding, shape_rng: np.random.Generator):
        return np.zeros(self.u.shape, np.float32), self.mediastinum() & (self.v < 0.55)

    def _effusion(self, f: Finding, shape_rng: np.random.Generator):
        u, v, w = self.u, self.v, self.w
        mask = np.zeros(u.shape, bool)
        height = graded(EFFUSION_HEIGHT, f.severity)
        for side in self._sides(f.location):
            cu = self.lung_centre(side)
            lateral_edge = cu + (-0.17 if side == "right" else 0.17) * w
            reach = np.clip((u - cu) / (lateral_edge - cu), 0, 1)
            top = self.base[side] - height - (0.05 + 0.3 * height) * reach ** 2
            mask |= self.lungs[side] & (v > top)
        fluid = _soft(mask, 1.5) * (0.32 + 0.1 * np.clip((v - 0.6) / 0.2, 0, 1))
        return fluid, mask

    def _patch(self, f: Finding, shape_rng: np.random.Generator):
        """Consolidation (dense) and Lung Opacity (fainter): an irregular patch in the named lobe's zone."""
        u, v, w, n, lungs = self.u, self.v, self.w, self.size, self.both_lungs
        cu, cv = self._anchor(f.location, f.shape_seed)
        r = graded(PATCH_RADIUS, f.severity) * w
        field = _blob(u, v, cu, cv, r, 1.15 * r, shape_rng, n)
        mask = (field < 0.9) & lungs
        strength = 0.24 if f.observation == "Consolidation" else 0.15
        texture = 1 + 0.35 * _smooth_noise(shape_rng, n, 24)
        # soft-edged: fades in over the outer third of the patch, no sharp outline
        return strength * np.clip((1.0 - field) * (1 / 0.35), 0, 1) * texture * lungs, mask

    def _edema(self, f: Finding, shape_rng: np.random.Generator):
        u, v, w, lungs, sev = self.u, self.v, self.w, self.both_lungs, f.severity
        amp = graded(EDEMA_AMPLITUDE, sev)
        r = np.minimum(np.hypot(u - 0.5 + 0.1 * w, v - 0.48), np.hypot(u - 0.5 - 0.1 * w, v - 0.48))
        haze = np.exp(-((r / (0.14 * w)) ** 2))
        added = amp * (haze + 0.25) * _soft(lungs, 1.5)
        if sev in ("moderate", "severe"):
            kerley = (np.abs(self.dx) > 0.28) & (v > 0.55) & ((v / 0.016) % 1 < 0.22) & lungs
            added += 0.07 * kerley
        return added, lungs & (haze > 0.35)

    def _atelectasis(self, f: Finding, shape_rng: np.random.Generator):
        u, v, w, lungs = self.u, self.v, self.w, self.both_lungs
        mask = np.zeros(u.shape, bool)
        added = np.zeros(u.shape, np.float32)
        thick = ATELECTASIS_THICKNESS[f.severity]  # ungraded plates draw as thick as moderate ones
        for side in self._sides(f.location):
            cu = self.lung_centre(side)
            tilt = shape_rng.uniform(-0.02, 0.03)
            y0 = self.base[side] - shape_rng.uniform(0.09, 0.12)
            d = _segment_distance(u, v, [(cu - 0.1 * w, y0 + tilt), (cu + 0.1 * w, y0 - tilt)])
            if f.detail == "basilar":
                d2 = _segment_distance(u, v, [(cu - 0.07 * w, y0 + 0.04), (cu + 0.08 * w, y0 + 0.035)])
                d = np.minimum(d, d2 + thick * 0.2)
            streak = np.clip(1.0 - d * (1.0 / thick), 0.0, 1.0)
            added = np.maximum(added, streak)
            mask |= d < thick + 0.01
        mask &= lungs
        return 0.2 * added * lungs, mask

    def _drawn_in_compose(self, f: Finding, shape_rng: np.random.Generator):
        return np.zeros(self.u.shape, np.float32), None  # Pneumothorax: compose() draws it and its mask

    def _lesion(self, f: Finding, shape_rng: np.random.Generator):
        u, v, w, n = self.u, self.v, self.w, self.size
        kind, cm = f.detail.split("|")
        cu, cv = self._anchor(f.location, f.shape_seed)
        r = float(cm) * 0.0118 * w
        wobble = 0.25 if kind == "mass" else 0.05
        field = _ellipse(u, v, cu, cv, r, r) + wobble * _smooth_noise(shape_rng, n, 8)
        mask = field < 1.0
        return 0.3 * _soft(mask, 0.8), mask

    def _fracture(self, f: Finding, shape_rng: np.random.Generator):
        u, v, w = self.u, self.v, self.w
        rib, age = f.detail.split("|")
        sign = -1 if f.location == "right" else 1
        d = 0.28
        cu = 0.5 + sign * d * w
        cv = self.rib_start + (-0.15 * d + 1.25 * d * d) + (int(rib) - 0.5) * self.rib_spacing
        near = np.hypot(u - cu, v - cv)
        mask = near < 0.022
        if age == "healed":
            return 0.12 * _soft(_ellipse(u, v, cu, cv, 0.014, 0.02) < 1, 1.0), mask
        gap = (np.abs(u - cu) < max(0.005, 0.7 * self.px)) & (np.abs(v - cv) < self.rib_spacing * 0.45)
        return -0.085 * self.ribs * gap, mask

    def _pleural_cap(self, f: Finding, shape_rng: np.random.Generator):
        side = f.location
        mask = self.lungs[side] & (self.lung_rho(side) > 0.86) & (self.v < 0.3)
        return 0.18 * _soft(mask, 1.0), mask

    def _support_device(self, f: Finding, shape_rng: np.random.Generator):
        return self._device(f.location, shape_rng)

    def _device(self, name: str, shape_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        u, v, w = self.u, self.v, self.w

        def x(offset: float) -> float:
            return 0.5 + offset * w

        if name == "endotracheal tube":
            tip = 0.37 - float(shape_rng.uniform(0.06, 0.12))
            d = _segment_distance(u, v, [(x(0.0), -0.1), (x(0.0), tip)])
            line, mask = (np.abs(d - 0.007) < max(0.0025, 0.6 * self.px)), d < 0.016
        elif name == "enteric tube":
            d = _segment_distance(u, v, [(x(0.01), -0.1), (x(0.015), 0.4), (x(0.03), 0.72), (x(0.1), 0.84),
                                         (x(0.15), 0.86)])
            line, mask = d < max(0.0035, 0.7 * self.px), d < 0.011
        elif name == "central venous catheter":
            d = _segment_distance(u, v, [(x(-0.09), -0.05), (x(-0.055), 0.15), (x(-0.03), 0.25), (x(-0.025), 0.38)])
            line, mask = d < max(0.0035, 0.7 * self.px), d < 0.011
        elif name == "PICC":
            d = _segment_distance(u, v, [(x(-0.55), 0.27), (x(-0.38), 0.22), (x(-0.2), 0.22), (x(-0.08), 0.25),
                                         (x(-0.03), 0.3), (x(-0.025), 0.41)])
            line, mask = d < max(0.003, 0.7 * self.px), d < 0.011
        elif name == "pacemaker":
            box = (np.abs(u - x(0.25)) < 0.04 * w) & (np.abs(v - 0.19) < 0.028)
            leads = _segment_distance(u, v, [(x(0.25), 0.19), (x(0.12), 0.22), (x(0.02), 0.3), (x(-0.02), 0.45),
                                             (x(-0.03), 0.53)])
            leads2 = _segment_distance(u, v, [(x(0.02), 0.3), (x(0.0), 0.5), (x(0.07), 0.68)])
            lead = max(0.004, 0.7 * self.px)
            line = box | (leads < lead) | (leads2 < lead)
            mask = (np.abs(u - x(0.25)) < 0.04 * w + 0.008) & (np.abs(v - 0.19) < 0.036) | (leads < 0.012) | (
                leads2 < 0.012)
        else:
            raise ValueError(f"unknown device {name!r}")
        return 0.45 * line.astype(np.float32), mask


# ---------------------------------------------------------------------------------------------------------------
# Lateral view (anterior on the image's left).


# observation -> its frontal drawer: (scene, finding, shape rng) -> (density added, mask or None)
FRONTAL_DRAWERS = {
    "Cardiomegaly": _Frontal._cardiomegaly,
    "Enlarged Cardiomediastinum": _Frontal._wide_mediastinum,
    "Pleural Effusion": _Frontal._effusion,
    "Consolidation": _Frontal._patch,
    "Lung Opacity": _Frontal._patch,
    "Edema": _Frontal._edema,
    "Atelectasis": _Frontal._atelectasis,
    "Pneumothorax": _Frontal._drawn_in_compose,
    "Lung Lesion": _Frontal._lesion,
    "Fracture": _Frontal._fracture,
    "Pleural Other": _Frontal._pleural_cap,
    "Support Devices": _Frontal._support_device,
}


@dataclass(frozen=True)
class _LateralScene:
    """What the lateral drawers read: the grid, habitus, grid size, lung and heart masks, diaphragm base."""

    u: np.ndarray
    v: np.ndarray
    w: float
    n: int
    lung: np.ndarray
    heart: np.ndarray
    base: np.ndarray
    inspiration: float


def _lateral_cardiomegaly(sc: _LateralScene, f: Finding, shape_rng):
    return None, sc.heart  # drawn through the larger heart of the scene


def _lateral_effusion(sc: _LateralScene, f: Finding, shape_rng):
    height = graded(LATERAL_EFFUSION_HEIGHT, f.severity)
    reach = np.clip((sc.u - 0.5) / (0.27 * sc.w), 0, 1)
    mask = sc.lung & (sc.v > sc.base - height - (0.05 + 0.3 * height) * reach ** 2)
    return 0.3 * _soft(mask, 1.5), mask


def _lateral_patch(sc: _LateralScene, f: Finding, shape_rng):
    """Consolidation, Lung Opacity and Lung Lesion at the named lobe's lateral zone."""
    cu, cv = LATERAL_LOBE_CENTRES[f.location]
    if f.observation == "Lung Lesion":
        r = float(f.detail.split("|")[1]) * 0.0118 * sc.w
        mask = _ellipse(sc.u, sc.v, cu, cv, r, r) < 1
    else:
        r = graded(PATCH_RADIUS, f.severity) * sc.w
        mask = (_blob(sc.u, sc.v, cu, cv, 1.2 * r, r, shape_rng, sc.n) < 0.9) & sc.lung
    return (0.17 if f.observation == "Lung Opacity" else 0.28) * _soft(mask, 1.2), mask


def _lateral_edema(sc: _LateralScene, f: Finding, shape_rng):
    amp = graded(EDEMA_AMPLITUDE, f.severity)
    haze = np.exp(-((np.hypot(sc.u - 0.5, sc.v - 0.47) / 0.14) ** 2))
    return amp * (haze + 0.25) * sc.lung, sc.lung & (haze > 0.35)


def _lateral_atelectasis(sc: _LateralScene, f: Finding, shape_rng):
    y0 = 0.7 + sc.inspiration
    mask = (_segment_distance(sc.u, sc.v, [(0.42, y0 - 0.02), (0.66, y0 + 0.02)]) < 0.01) & sc.lung
    return 0.25 * _soft(mask, 0.7), mask


LATERAL_DEVICE_PATHS = {  # the devices a lateral shows, as polylines in lateral (u, v); w: habitus
    "endotracheal tube": lambda w: [(0.47, -0.1), (0.51, 0.3)],
    "enteric tube": lambda w: [(0.53, -0.1), (0.57, 0.45), (0.55, 0.75), (0.45, 0.85)],
    "pacemaker": lambda w: [(0.5 - 0.3 * w, 0.2), (0.42, 0.45), (0.38, 0.6)],
}


def _lateral_device(sc: _LateralScene, f: Finding, shape_rng):
    if f.location not in LATERAL_DEVICE_PATHS:
        return None, None  # lines the lateral does not show
    dist = _segment_distance(sc.u, sc.v, LATERAL_DEVICE_PATHS[f.location](sc.w))
    return 0.45 * (dist < max(0.004, 0.7 / sc.n)), dist < 0.012


# observation -> its lateral drawer: (scene, finding, shape rng) -> (density added or None, mask or None)
LATERAL_DRAWERS = {
    "Cardiomegaly": _lateral_cardiomegaly,
    "Pleural Effusion": _lateral_effusion,
    "Consolidation": _lateral_patch,
    "Lung Opacity": _lateral_patch,
    "Lung Lesion": _lateral_patch,
    "Edema": _lateral_edema,
    "Atelectasis": _lateral_atelectasis,
    "Support Devices": _lateral_device,
}


def _lateral(spec: ImageSpec, u: np.ndarray, v: np.ndarray, rng: np.random.Generator):
    a, n = spec.anatomy, u.shape[0]
    w = a.habitus
    masks: dict[str, np.ndarray] = {}
    findings = {f.observation: f for f in spec.findings if f.visible}
    half = 0.12 + (0.36 * w - 0.12) * np.clip((v - 0.02) / 0.15, 0, 1) ** 0.6
    body = np.clip(1 - ((u - 0.5) / half) ** 2, 0, 1)
    density = 0.55 * np.sqrt(body)
    ctr = graded(CARDIOMEGALY_CTR, findings["Cardiomegaly"].severity) if "Cardiomegaly" in findings else a.ctr
    heart = _ellipse(u, v, 0.5 - (0.13 - 0.25 * (ctr - 0.45)) * w, 0.64, (0.12 + 0.35 * (ctr - 0.45)) * w, 0.14) < 1
    base = 0.79 + a.inspiration + 0.05 * (u - 0.5) / 0.3
    dome = base - 0.08 * np.clip(1 - ((u - 0.5) / (0.3 * w)) ** 2, 0, 1)
    lung = (_ellipse(u, v, 0.52, 0.53, 0.27 * w, 0.38) < 1) & (v < dome) & (v > 0.15) & ~heart
    texture = 0.08 * (1 + _smooth_noise(rng, n, 20)) * np.exp(-np.hypot(u - 0.52, v - 0.45) / 0.2)
    density = density * (1 - 0.62 * _soft(lung, 1.5)) + texture * lung + 0.06 * _soft(heart, 1.5)
    spine = (u > 0.5 + 0.22 * w) & (u < 0.5 + 0.31 * w) & (v > 0.05)
    density += 0.1 * spine * (0.7 + 0.3 * (np.cos(2 * np.pi * v / 0.05) > -0.5))
    sternum = np.abs(u - (0.5 - 0.3 * w) - 0.02 * v) < 0.01
    density += 0.08 * sternum * (v > 0.15) * (v < 0.6)
    trachea = _segment_distance(u, v, [(0.48, 0.0), (0.52, 0.4)]) < 0.014
    density -= 0.07 * _soft(trachea, 1.0)
    scene = _LateralScene(u, v, w, n, lung, heart, base, a.inspiration)
    for f in spec.findings:
        drawer = LATERAL_DRAWERS.get(f.observation)
        if not f.visible or drawer is None:
            continue
        added, mask = drawer(scene, f, np.random.default_rng(f.shape_seed))
        if added is not None:
            density += added
        if mask is not None:
            masks[f.mask_key] = masks.get(f.mask_key, np.zeros_like(mask)) | mask
    return density, masks


# ---------------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _finish(density: np.ndarray, spec: ImageSpec, rng: np.random.Generator) -> np.ndarray:
    """Exposure curve, blur, noise, collimation and burned-in text: density map -> uint8 image [size, size]."""
    nu, n = spec.nuisance, spec.size
    site = SITES[nu.site]
    level = np.clip((density - 0.02) * nu.contrast * 1.35, 0, 1) ** nu.gamma
    img = Image.fromarray((level * 255).astype(np.uint8), "L")
    img = img.filter(ImageFilter.GaussianBlur(nu.blur * n / 256))
    pixels = np.asarray(img, dtype=np.float32) / 255.0
    # Uniform noise with the nuisance's standard deviation (sqrt(12) * U(-0.5, 0.5)): half the cost of Gaussian.
    pixels += (nu.noise * math.sqrt(12.0)) * (rng.random(pixels.shape, dtype=np.float32) - 0.5)
    top, bottom, left, right = (int(round(m * n)) for m in nu.collimation)
    if top:
        pixels[:top] = site.background
    if bottom:
        pixels[n - bottom:] = site.background
    if left:
        pixels[:, :left] = site.background
    if right:
        pixels[:, n - right:] = site.background
    out = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "L")
    draw = ImageDraw.Draw(out)
    font = _font(max(8, n // 16))
    on_right = site.marker_on_patient_left != (spec.projection == "LATERAL")
    marker_x = int(n * (0.86 if on_right else 0.06))
    ink = 40 if site.background > 0.5 else 235
    draw.text((marker_x, int(n * 0.06)), site.marker, fill=ink, font=font)
    if nu.label_text:
        draw.text((int(n * 0.06), int(n * 0.9)), nu.label_text, fill=ink, font=_font(max(6, n // 28)))
    return np.asarray(out)


def render(spec: ImageSpec) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render ``spec``: (uint8 image [size, size], {mask key: bool [size, size]}) for each drawn finding."""
    if spec.projection not in ("PA", "AP", "LATERAL"):
        raise ValueError(f"projection must be PA, AP or LATERAL, got {spec.projection!r}")
    rng = np.random.default_rng(spec.texture_seed)
    # Anatomy and findings are smooth at this scale, so large images draw them at half resolution and upsample;
    # noise, blur and text are added at full resolution.
    factor = 2 if spec.size >= 192 and spec.size % 2 == 0 else 1
    u, v = _grid(spec, spec.size // factor)
    if spec.projection == "LATERAL":
        density, masks = _lateral(spec, u, v, rng)
    else:
        density, masks = _Frontal(spec, u, v, rng).compose()
    if factor > 1:
        density = np.asarray(Image.fromarray(density.astype(np.float32), "F").resize(
            (spec.size, spec.size), Image.BILINEAR), dtype=np.float32)
        masks = {key: m.repeat(factor, axis=0).repeat(factor, axis=1) for key, m in masks.items()}
    return _finish(density, spec, rng), {key: np.ascontiguousarray(m, dtype=bool) for key, m in masks.items()}
