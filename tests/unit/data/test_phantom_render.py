"""Phantom images: each finding's mask lies where the report puts it, and the image differs inside it."""

import dataclasses

import numpy as np
import pytest

from igcl.data.phantom.findings import POSITIVE, Finding
from igcl.data.phantom.render import Anatomy, ImageSpec, render
from igcl.data.phantom.sites import sample_nuisance

SIZE = 128


def spec(*findings, projection="PA", site="mimic", seed=0):
    nuisance = dataclasses.replace(sample_nuisance(site, projection, np.random.default_rng(seed)),
                                   rotation_deg=0.0, shift=(0.0, 0.0), collimation=(0.0, 0.0, 0.0, 0.0))
    anatomy = Anatomy(habitus=1.0, ctr=0.44, inspiration=0.0, female=False)
    return ImageSpec(projection, SIZE, anatomy, nuisance, tuple(findings), texture_seed=seed)


def finding(observation, location, severity="moderate", detail=""):
    return Finding(observation, POSITIVE, location, severity, None, True, 7, detail)


def centroid(mask):
    rows, cols = np.nonzero(mask)
    return cols.mean() / SIZE, rows.mean() / SIZE  # x (0 left .. 1 right), y (0 top .. 1 bottom)


def contrast(with_finding, mask):
    """Mean grey level inside ``mask``: image with the finding minus the same image without it."""
    normal, _ = render(dataclasses.replace(with_finding, findings=()))
    image, _ = render(with_finding)
    return image[mask].astype(float).mean() - normal[mask].astype(float).mean()


@pytest.mark.parametrize("lobe, right_of_image, upper", [
    ("right upper lobe", False, True), ("right lower lobe", False, False),
    ("left upper lobe", True, True), ("left lower lobe", True, False),
])
def test_consolidation_lies_in_its_lobe_and_is_dense(lobe, right_of_image, upper):
    s = spec(finding("Consolidation", lobe))
    _, masks = render(s)
    mask = masks[f"Consolidation|{lobe}"]
    assert mask.shape == (SIZE, SIZE) and mask.dtype == bool and mask.sum() > 20
    x, y = centroid(mask)
    # radiological convention: the patient's left is on the image's right
    assert (x > 0.5) == right_of_image
    assert (y < 0.45) if upper else (y > 0.55)
    assert contrast(s, mask) > 15


@pytest.mark.parametrize("side", ["left", "right"])
def test_effusion_fills_the_named_base(side):
    s = spec(finding("Pleural Effusion", side, "moderate"))
    _, masks = render(s)
    mask = masks[f"Pleural Effusion|{side}"]
    x, y = centroid(mask)
    assert (x > 0.5) == (side == "left")
    assert y > 0.6
    assert contrast(s, mask) > 20


def test_effusion_size_follows_severity():
    areas = [render(spec(finding("Pleural Effusion", "right", sev)))[1]["Pleural Effusion|right"].sum()
             for sev in ("mild", "moderate", "severe")]
    assert areas[0] < areas[1] < areas[2]


def test_bilateral_effusion_has_one_mask_on_both_sides():
    _, masks = render(spec(finding("Pleural Effusion", "bilateral")))
    mask = masks["Pleural Effusion|bilateral"]
    assert mask[:, : SIZE // 2].sum() > 10 and mask[:, SIZE // 2:].sum() > 10


@pytest.mark.parametrize("side", ["left", "right"])
def test_pneumothorax_is_apical_lucent_and_on_its_side(side):
    s = spec(finding("Pneumothorax", side, "moderate"))
    _, masks = render(s)
    mask = masks[f"Pneumothorax|{side}"]
    x, y = centroid(mask)
    assert (x > 0.5) == (side == "left") and y < 0.45
    assert contrast(s, mask) < -3  # darker: air, no lung markings


def test_cardiomegaly_widens_the_heart():
    s = spec(finding("Cardiomegaly", "cardiac silhouette", "severe"))
    _, masks = render(s)
    mask = masks["Cardiomegaly|cardiac silhouette"]
    cols = np.nonzero(mask.any(axis=0))[0]
    assert (cols[-1] - cols[0] + 1) / SIZE > 0.45  # severe: CTR ~0.69 of a ~0.71-wide thorax
    assert contrast(s, mask) > 10
    assert centroid(mask)[0] > 0.5  # the heart sits mostly on the patient's left


def test_edema_is_bilateral_perihilar():
    s = spec(finding("Edema", "bilateral perihilar", "severe"))
    _, masks = render(s)
    mask = masks["Edema|bilateral perihilar"]
    assert mask[:, : SIZE // 2].sum() > 20 and mask[:, SIZE // 2:].sum() > 20
    assert 0.35 < centroid(mask)[1] < 0.65
    assert contrast(s, mask) > 10


def test_devices_and_atelectasis_are_drawn_with_masks():
    s = spec(finding("Support Devices", "endotracheal tube", None), finding("Atelectasis", "left", "moderate",
                                                                         "plate-like"))
    image, masks = render(s)
    tube = masks["Support Devices|endotracheal tube"]
    assert abs(centroid(tube)[0] - 0.5) < 0.05 and centroid(tube)[1] < 0.4
    assert contrast(s, tube) > 5
    atelectasis = masks["Atelectasis|left"]
    assert centroid(atelectasis)[0] > 0.5 and centroid(atelectasis)[1] > 0.55
    assert contrast(s, atelectasis) > 5


def test_lateral_view_draws_effusion_and_no_pneumothorax_mask():
    s = spec(finding("Pleural Effusion", "right", "severe"), finding("Pneumothorax", "right"),
             projection="LATERAL")
    _, masks = render(s)
    assert set(masks) == {"Pleural Effusion|right"}
    assert contrast(s, masks["Pleural Effusion|right"]) > 15


def test_render_is_deterministic_and_sites_differ():
    a, _ = render(spec(seed=1))
    b, _ = render(spec(seed=1))
    assert a.dtype == np.uint8 and a.shape == (SIZE, SIZE)
    assert np.array_equal(a, b)
    c, _ = render(spec(seed=1, site="chexpert"))
    assert np.abs(a.astype(float) - c.astype(float)).mean() > 5


def test_unknown_projection_is_rejected():
    with pytest.raises(ValueError, match="projection"):
        render(dataclasses.replace(spec(), projection="OBLIQUE"))
