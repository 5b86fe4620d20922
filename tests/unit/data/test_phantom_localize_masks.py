"""The phantom's test masks in CheXlocalize's layout: readable by the reader, equal to the merged .masks.npz."""

import csv

import numpy as np
import pytest

from igcl.data.phantom import PhantomConfig, generate_phantom
from igcl.labels import COMPETITION_PATHOLOGIES
from igcl.localize.masks import chexlocalize_image_id, read_chexlocalize_json


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantom") / "CheXpert-v1.0-small"
    cfg = PhantomConfig(pretrain_studies=1, eval_train_studies=2, eval_valid_studies=1, eval_test_studies=40,
                        image_size=32)
    counts = generate_phantom(cfg, None, root)
    assert counts["chexpert_test_segmentations"] == 40
    return root


def test_test_masks_are_chexlocalize_json_of_the_merged_npz(tree):
    with open(tree / "test_labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = {chexlocalize_image_id(row["Path"]): row for row in rows}
    masks = read_chexlocalize_json(tree / "gt_segmentations_test.json", image_ids=ids, shape=(32, 32))
    assert sorted(masks) == sorted(ids) and len(masks) == 40
    drawn = 0
    for image_id, entry in masks.items():
        assert list(entry) == list(COMPETITION_PATHOLOGIES)
        with np.load((tree / ids[image_id]["Path"]).with_suffix(".masks.npz")) as archive:
            for pathology in COMPETITION_PATHOLOGIES:
                expected = np.zeros((32, 32), bool)
                for key in archive.files:
                    if key.split("|")[0] == pathology:
                        expected |= archive[key]
                assert np.array_equal(entry[pathology], expected), (image_id, pathology)
                drawn += int(expected.any())
                # a drawn lesion is a labelled positive (truth labels: 1.0 / 0.0)
                if expected.any():
                    assert ids[image_id][pathology] == "1.0", (image_id, pathology)
    assert drawn > 0


def test_no_test_split_writes_no_segmentations(tmp_path):
    root = tmp_path / "CheXpert-v1.0-small"
    counts = generate_phantom(PhantomConfig(pretrain_studies=1, eval_train_studies=2, eval_valid_studies=1,
                                            eval_test_studies=0, image_size=32), None, root)
    assert not (root / "gt_segmentations_test.json").exists() and "chexpert_test_segmentations" not in counts
