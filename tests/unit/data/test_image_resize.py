"""images.resize: crop (the default, shorter side to size) vs pad (longer side to size, black padding), on hand-made
non-square images whose geometry is known."""

import numpy as np
import pytest
from PIL import Image

from igcl.data.imageshards import ImagesConfig, build_image_shard, decode_image
from igcl.data.imageshards.decode import PAD_VALUE, pad_geometry


def write_gray(path, pixels, quality=100):
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(path, format="JPEG", quality=quality)
    return path


def portrait_with_bright_base(width=30, height=60, stripe=6):
    """30 wide x 60 high mid-grey, with a white stripe along the bottom (where the costophrenic angles are)."""
    pixels = np.full((height, width), 100, np.uint8)
    pixels[-stripe:] = 255
    return pixels


def test_crop_cuts_the_base_and_pad_keeps_it(tmp_path):
    path = write_gray(tmp_path / "portrait.jpg", portrait_with_bright_base())
    crop = decode_image(path, 30, "crop")
    pad = decode_image(path, 30, "pad")
    assert crop.shape == pad.shape == (30, 30)
    # crop keeps the centred 30x30 (rows 15-44 of 60): the stripe (rows 54-59) is gone
    assert crop.max() < 140
    # pad: the whole image at half scale (15 wide x 30 high) centred, black columns either side
    left, top, width, height = pad_geometry(30, 60, 30)
    assert (left, top, width, height) == (7, 0, 15, 30)
    assert (pad[:, :left] == PAD_VALUE).all() and (pad[:, left + width:] == PAD_VALUE).all()
    assert PAD_VALUE == 0
    body = pad[:, left:left + width].astype(int)
    assert (body[-2:] > 230).all()  # the stripe, 6 rows at full scale -> 3 at half, survives at the bottom
    assert (abs(body[:20] - 100) <= 3).all()  # the grey above it, unchanged
    # aspect ratio kept: the image spans 15 of 30 columns and all 30 rows, as 30:60
    assert width / height == pytest.approx(30 / 60)


def test_pad_of_a_landscape_image_pads_rows_with_the_odd_one_at_the_bottom(tmp_path):
    pixels = np.full((25, 60), 200, np.uint8)  # 60 wide x 25 high
    pad = decode_image(write_gray(tmp_path / "landscape.jpg", pixels), 24, "pad")
    left, top, width, height = pad_geometry(60, 25, 24)
    assert (left, top, width, height) == (0, 7, 24, 10)  # floor(25 * 24 / 60) = 10 rows; 14 padding rows: 7 + 7
    assert (pad[:top] == 0).all() and (pad[top + height:] == 0).all()
    assert (abs(pad[top:top + height].astype(int) - 200) <= 3).all()
    assert pad_geometry(60, 27, 24) == (0, 7, 24, 10)  # floor(10.8) = 10
    assert pad_geometry(60, 30, 23) == (0, 6, 23, 11)  # floor(11.5) = 11 rows; 12 padding rows: 6 + 6
    assert pad_geometry(61, 30, 24) == (0, 6, 24, 11)  # 13 padding rows: 6 top, 7 bottom


@pytest.mark.parametrize("size", [16, 31, 64])
def test_a_square_image_gives_the_same_array_both_ways(tmp_path, size):
    rng = np.random.default_rng(size)
    path = write_gray(tmp_path / "square.jpg", rng.integers(0, 256, (300, 300)), quality=90)
    np.testing.assert_array_equal(decode_image(path, size, "pad"), decode_image(path, size, "crop"))
    np.testing.assert_array_equal(decode_image(path, size), decode_image(path, size, "crop"))


def test_pad_uses_a_reduced_scale_decode_that_covers_the_resized_image(tmp_path):
    """A 2000 x 1000 film at 100 px: pad needs 100 x 50, so libjpeg decodes at 1/8 (250 x 125) like draft()."""
    rng = np.random.default_rng(0)
    pixels = np.clip(rng.normal(128, 30, (1000, 2000)), 0, 255)
    path = write_gray(tmp_path / "wide.jpg", pixels, quality=90)
    with Image.open(path) as img:
        img.draft("L", (100, 50))
        assert img.size == (250, 125)
        reference = np.asarray(img.convert("L").resize((100, 50), Image.Resampling.BICUBIC))
    pad = decode_image(path, 100, "pad")
    np.testing.assert_array_equal(pad[25:75], reference)
    assert (pad[:25] == 0).all() and (pad[75:] == 0).all()


def test_the_config_and_the_decoder_know_the_same_modes():
    from igcl.data.imageshards.config import RESIZE_CHOICES
    from igcl.data.imageshards.decode import RESIZE_MODES

    assert RESIZE_CHOICES == RESIZE_MODES and ImagesConfig().resize == "crop"


def test_an_unknown_mode_is_an_error(tmp_path):
    path = write_gray(tmp_path / "square.jpg", np.zeros((16, 16)))
    with pytest.raises(ValueError, match=r"resize: expected one of \['crop', 'pad'\], got 'stretch'"):
        decode_image(path, 16, "stretch")
    with pytest.raises(ValueError, match=r"images.resize: expected one of \['crop', 'pad'\], got 'stretch'"):
        ImagesConfig(resize="stretch")


def test_the_stage_pads_when_asked(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from igcl.labels import CHEXPERT_OBSERVATIONS
    from igcl.contracts.schema import MANIFEST_SCHEMA

    files = [write_gray(tmp_path / f"{i}.jpg", portrait_with_bright_base(30 + 10 * i, 60)) for i in range(3)]
    table = pa.Table.from_pydict({
        "study_id": [f"s{i}" for i in range(3)], "patient_id": [f"p{i}" for i in range(3)],
        "image_id": [f"i{i}" for i in range(3)], "split": ["train"] * 3, "image_path": [str(f) for f in files],
        "view": ["PA"] * 3, "report_path": [None] * 3,
        "labels": [{name: None for name in CHEXPERT_OBSERVATIONS}] * 3}, schema=MANIFEST_SCHEMA)
    pq.write_table(table, tmp_path / "m.parquet")
    for resize in ("crop", "pad"):
        out = tmp_path / resize
        build_image_shard(tmp_path / "m.parquet", out / "a.npy", out / "a.index.parquet",
                          ImagesConfig(size=20, resize=resize), threads=2, chunk_size=1)
        array = np.load(out / "a.npy")
        for i, f in enumerate(files):
            np.testing.assert_array_equal(array[i], decode_image(f, 20, resize))
