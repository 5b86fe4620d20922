"""Dice / IoU on hand-made masks, the pointing game and pixel AUROC on maps whose answer is known, bootstrap CIs."""

import numpy as np
import pytest

from igcl.localize.metrics import dice, iou, pixel_auroc, pointing_game, score_findings


def _box(r0, r1, c0, c1, shape=(6, 6)):
    mask = np.zeros(shape, bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_dice_and_iou_by_hand():
    true = _box(0, 2, 0, 3)   # 6 pixels
    pred = _box(1, 3, 0, 3)   # 6 pixels, 3 shared
    assert dice(pred, true) == pytest.approx(2 * 3 / 12)
    assert iou(pred, true) == pytest.approx(3 / 9)
    assert dice(true, true) == 1.0 and iou(true, true) == 1.0
    disjoint = _box(4, 6, 4, 6)
    assert dice(disjoint, true) == 0.0 and iou(disjoint, true) == 0.0


def test_empty_conventions():
    empty, lesion = np.zeros((6, 6), bool), _box(0, 2, 0, 2)
    assert np.isnan(dice(empty, empty)) and np.isnan(iou(empty, empty))      # 0/0: undefined by default
    assert dice(empty, empty, empty=1.0) == 1.0 and iou(empty, empty, empty=1.0) == 1.0
    assert dice(lesion, empty) == 0.0 and iou(lesion, empty) == 0.0         # a false positive scores 0
    assert dice(empty, lesion) == 0.0 and iou(empty, lesion) == 0.0         # a miss scores 0


def test_stacks_are_per_image_and_shapes_are_checked():
    true = np.stack([_box(0, 2, 0, 3), _box(0, 6, 0, 6), np.zeros((6, 6), bool)])
    pred = np.stack([_box(1, 3, 0, 3), _box(0, 3, 0, 6), np.zeros((6, 6), bool)])
    np.testing.assert_allclose(dice(pred, true), [0.5, 2 * 18 / 54, np.nan])
    np.testing.assert_allclose(iou(pred, true), [1 / 3, 0.5, np.nan])
    with pytest.raises(ValueError, match="same shape"):
        dice(pred[:, :5], true)


def test_pointing_game_on_known_maps():
    true = _box(2, 4, 2, 4)
    rows, cols = np.mgrid[0:6, 0:6]
    peak_inside = -((rows - 2.5) ** 2 + (cols - 3.0) ** 2)   # maximum at (2, 3) / (3, 3): inside
    peak_outside = -((rows - 5.0) ** 2 + (cols - 0.0) ** 2)  # maximum at (5, 0): outside
    maps = np.stack([peak_inside, peak_outside, peak_inside])
    masks = np.stack([true, true, np.zeros((6, 6), bool)])
    np.testing.assert_array_equal(pointing_game(maps, masks), [1.0, 0.0, np.nan])
    # a tie goes to the first maximum in row-major order: (0, 0) here, outside
    assert pointing_game(np.ones((6, 6)), true) == 0.0
    with pytest.raises(ValueError, match="non-finite"):
        pointing_game(np.full((6, 6), np.nan), true)


def test_pixel_auroc_on_known_maps():
    true = _box(2, 4, 2, 4)
    assert pixel_auroc(true.astype(float), true) == 1.0                 # the mask itself: perfect
    assert pixel_auroc(-true.astype(float), true) == 0.0                # inverted: worst
    assert pixel_auroc(np.zeros((6, 6)), true) == 0.5                  # constant: chance
    assert np.isnan(pixel_auroc(np.zeros((6, 6)), np.zeros((6, 6), bool)))
    assert np.isnan(pixel_auroc(np.zeros((6, 6)), np.ones((6, 6), bool)))
    # 4 lesion pixels scored 0, 1, 2, 3; 32 background pixels scored 1.5: pairs won 2*32 of 4*32
    saliency = np.full((6, 6), 1.5)
    saliency[2:4, 2:4] = [[0, 1], [2, 3]]
    assert pixel_auroc(saliency, true) == pytest.approx(0.5)


def test_score_findings_means_cis_and_undefined_images():
    values = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, np.nan], [0.0, np.nan]])
    rows = score_findings(values, ("A", "B"), n_bootstrap=2000, level=0.95, rng=np.random.default_rng(0),
                          metric="dice")
    a, b, mean = rows
    assert a["finding"] == "A" and a["metric"] == "dice" and a["value"] == 0.5 and a["n"] == 4
    assert 0.0 <= a["ci_low"] < 0.5 < a["ci_high"] <= 1.0 and a["status"] == "ok"
    assert b["status"] == "no image where it is defined" and np.isnan(b["value"])
    assert mean["status"] == "partial 1/2" and mean["value"] == 0.5
    assert (mean["ci_low"], mean["ci_high"]) == (a["ci_low"], a["ci_high"])


def test_score_findings_joint_resampling_and_seeded():
    rng = np.random.default_rng(3)
    values = rng.random((50, 3))
    values[::5, 1] = np.nan
    first = score_findings(values, ("A", "B", "C"), n_bootstrap=500, level=0.9, rng=np.random.default_rng(7))
    again = score_findings(values, ("A", "B", "C"), n_bootstrap=500, level=0.9, rng=np.random.default_rng(7))
    assert first == again
    assert first[1]["n"] == 40 and first[1]["value"] == pytest.approx(np.nanmean(values[:, 1]))
    assert first[3]["value"] == pytest.approx(np.mean([r["value"] for r in first[:3]]))
    for row in first:
        assert row["ci_low"] < row["value"] < row["ci_high"]
    with pytest.raises(ValueError, match="one column per finding"):
        score_findings(values, ("A", "B"), n_bootstrap=10, level=0.9, rng=rng)
