"""CheXlocalize RLE JSON and RSNA box CSV: round trips through pycocotools and the errors on bad files."""

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from igcl.localize.masks import (CHEXLOCALIZE_PATHOLOGIES, boxes_to_mask, chexlocalize_image_id, decode_rle,
                                 encode_mask, read_chexlocalize_json, read_rsna_boxes, rle_runs,
                                 write_chexlocalize_json)


def _masks(rng, ids=("patient64741_study1_view1_frontal", "patient64742_study1_view1_frontal"), shape=(12, 9)):
    return {i: {"Cardiomegaly": rng.random(shape) < 0.3, "Pleural Effusion": np.zeros(shape, bool),
                "Atelectasis": rng.random(shape) < 0.05, "Consolidation": np.ones(shape, bool),
                "Edema": rng.random(shape) < 0.5} for i in ids}


def test_rle_round_trip_through_pycocotools(tmp_path):
    rng = np.random.default_rng(0)
    masks = _masks(rng)
    path = tmp_path / "gt.json"
    write_chexlocalize_json(masks, path)
    document = json.loads(path.read_text())
    # pycocotools itself decodes what we wrote, and its own encoding is what we wrote
    for image_id, entry in masks.items():
        for pathology, mask in entry.items():
            rle = document[image_id][pathology]
            assert rle["size"] == [12, 9] and isinstance(rle["counts"], str)
            assert np.array_equal(coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}), mask)
            ours = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            assert ours["counts"].decode() == rle["counts"]
    back = read_chexlocalize_json(path)
    assert list(back) == sorted(masks)
    for image_id in masks:
        assert list(back[image_id]) == ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]
        for pathology, mask in back[image_id].items():
            assert mask.dtype == bool and np.array_equal(mask, masks[image_id][pathology])


def test_writer_is_byte_stable(tmp_path):
    rng = np.random.default_rng(1)
    masks = _masks(rng)
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(masks.items()))}
    write_chexlocalize_json(masks, tmp_path / "a.json")
    write_chexlocalize_json(reordered, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_runs_decode_the_compressed_format_by_hand():
    # 3x2 image, column-major [0,0,1 | 1,1,0] -> runs 2 zeros, 3 ones, 1 zero
    mask = np.array([[0, 1], [0, 1], [1, 0]], dtype=bool)
    rle = encode_mask(mask)
    assert rle_runs(rle["counts"]) == [2, 3, 1]
    # CheXlocalize's published all-zero mask of a 2320x2828 image is one run
    assert rle_runs("PVWX6") == [2320 * 2828]
    assert not decode_rle({"size": [2320, 2828], "counts": "PVWX6"}).any()


def test_image_id_from_chexpert_path():
    assert chexlocalize_image_id("test/patient64741/study1/view1_frontal.jpg") == "patient64741_study1_view1_frontal"
    assert chexlocalize_image_id("CheXpert-v1.0/valid/patient64541/study2/view2_lateral.jpg") == \
        "patient64541_study2_view2_lateral"
    with pytest.raises(ValueError, match="not a CheXpert image path"):
        chexlocalize_image_id("files/p10/p10000032/s5.jpg")


def _write(tmp_path, document, name="gt.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _entry(shape=(4, 5), fill=False):
    return encode_mask(np.full(shape, fill))


def test_unknown_image_id_names_file_and_id(tmp_path):
    path = _write(tmp_path, {"patient1_study1_view1_frontal": {"Edema": _entry()}})
    with pytest.raises(ValueError, match=r"gt\.json: unknown image id 'patient1_study1_view1_frontal'"):
        read_chexlocalize_json(path, image_ids={"patient2_study1_view1_frontal"}, pathologies=("Edema",))
    assert read_chexlocalize_json(path, image_ids={"patient1_study1_view1_frontal", "x"}, pathologies=("Edema",))


def test_wrong_shape_names_file_image_and_pathology(tmp_path):
    path = _write(tmp_path, {"a": {"Edema": _entry((4, 5))}, "b": {"Edema": _entry((5, 4))}})
    with pytest.raises(ValueError, match=r"gt\.json: image 'b', Edema: mask is 5x4, expected 4x5"):
        read_chexlocalize_json(path, pathologies=("Edema",), shape=(4, 5))
    assert read_chexlocalize_json(path, pathologies=("Edema",), shape={"a": (4, 5), "b": (5, 4)})


def test_unknown_pathology(tmp_path):
    path = _write(tmp_path, {"a": {"Edema": _entry(), "Lung Opacity": _entry()}})
    with pytest.raises(ValueError, match=r"image 'a': unknown pathology 'Lung Opacity' .*'Airspace Opacity'"):
        read_chexlocalize_json(path, pathologies=("Edema",))
    with pytest.raises(ValueError, match="unknown pathology 'Fracture'"):
        read_chexlocalize_json(path, pathologies=("Fracture",))
    with pytest.raises(ValueError, match="unknown pathology 'Lung Opacity'"):
        write_chexlocalize_json({"a": {"Lung Opacity": np.zeros((2, 2), bool)}}, tmp_path / "out.json")


def test_missing_pathology(tmp_path):
    path = _write(tmp_path, {"a": {"Edema": _entry()}})
    with pytest.raises(ValueError, match=r"image 'a' has no mask for Cardiomegaly"):
        read_chexlocalize_json(path, pathologies=("Edema", "Cardiomegaly"))


@pytest.mark.parametrize("rle, message", [
    ({"size": [4, 5], "counts": "PVWX6"}, "runs cover 6560960 pixels"),
    ({"size": [4, 5], "counts": "5"}, "runs cover 5 pixels"),
    ({"size": [4, 5], "counts": "4~"}, "not an RLE character"),
    ({"size": [4, 5], "counts": "d"}, "ends inside a run length"),
    ({"size": [4, 5], "counts": "4O"}, "negative length"),  # "O": 31 - 32 = -1
    ({"size": [4, 5], "counts": [20]}, "must be a compressed RLE string"),
    ({"size": [4], "counts": "d0"}, r"'size' must be \[height, width\]"),
    ({"counts": "d0"}, "exactly 'size' and 'counts'"),
])
def test_malformed_rle(tmp_path, rle, message):
    path = _write(tmp_path, {"a": {"Edema": rle}})
    with pytest.raises(ValueError, match=rf"gt\.json: image 'a', Edema: .*{message}"):
        read_chexlocalize_json(path, pathologies=("Edema",))


def test_skipped_pathologies_are_still_checked(tmp_path):
    path = _write(tmp_path, {"a": {"Edema": _entry(), "Pneumothorax": {"size": [4, 5], "counts": "5"}}})
    with pytest.raises(ValueError, match="Pneumothorax: malformed RLE"):
        read_chexlocalize_json(path, pathologies=("Edema",))


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a JSON file"),
    ("[1, 2]", "expected a JSON object of image ids"),
    ('{"a": [1]}', "image 'a': expected an object of pathologies"),
])
def test_not_a_chexlocalize_file(tmp_path, text, message):
    with pytest.raises(ValueError, match=rf"gt\.json: {message}"):
        read_chexlocalize_json(_write(tmp_path, text))


def test_all_ten_pathologies_and_transform(tmp_path):
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    path = tmp_path / "gt.json"
    write_chexlocalize_json({"a": dict.fromkeys(CHEXLOCALIZE_PATHOLOGIES, mask)}, path)
    back = read_chexlocalize_json(path, pathologies=CHEXLOCALIZE_PATHOLOGIES, transform=lambda m: m[::2, ::2])
    assert list(back["a"]) == list(CHEXLOCALIZE_PATHOLOGIES)
    assert back["a"]["Airspace Opacity"].shape == (4, 4) and back["a"]["Airspace Opacity"].sum() == 4


def test_encode_rejects_non_binary():
    with pytest.raises(ValueError, match="0/1"):
        encode_mask(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2-D"):
        encode_mask(np.zeros(3))


RSNA_HEADER = "patientId,x,y,width,height,Target\n"


def test_rsna_boxes(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(RSNA_HEADER + "p1,,,,,0\np2,10,20,30,40,1\np2,0.0,0.0,2.0,3.0,1\n")
    boxes = read_rsna_boxes(path)
    assert list(boxes) == ["p1", "p2"]
    assert boxes["p1"].shape == (0, 4)
    np.testing.assert_array_equal(boxes["p2"], [[10, 20, 30, 40], [0, 0, 2, 3]])
    mask = boxes_to_mask(boxes["p2"], (64, 64))
    assert mask.sum() == 30 * 40 + 2 * 3 and mask[20, 10] and not mask[19, 10] and not mask[20, 40]


@pytest.mark.parametrize("rows, message", [
    ("p1,1,1,2,2,2\n", "Target must be 0 or 1"),
    ("p1,1,1,,2,1\n", "needs numeric x,y,width,height"),
    ("p1,1,1,0,2,1\n", "positive width and height"),
    ("p1,1,1,2,2,0\n", "a Target-0 row has no box"),
    ("p1,,,,,0\np1,1,1,2,2,1\n", "both a Target-0 row and boxes"),
    ("zz,,,,,0\n", "unknown patientId 'zz'"),
])
def test_rsna_errors(tmp_path, rows, message):
    path = tmp_path / "labels.csv"
    path.write_text(RSNA_HEADER + rows)
    with pytest.raises(ValueError, match=rf"labels\.csv:\d+: .*{message}"):
        read_rsna_boxes(path, image_ids={"p1"})


def test_rsna_missing_column(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("patientId,x,y\n")
    with pytest.raises(ValueError, match="missing column"):
        read_rsna_boxes(path)
