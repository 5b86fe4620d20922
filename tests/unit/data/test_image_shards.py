"""The images stage and its reader: decode/resize/crop numerics, view filtering, row alignment, bad files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image, ImageFile

from igcl.data.imageshards.reader import ImageShard, normalize_images
from igcl.data.imageshards import CorruptImageError, ImagesConfig, build_image_shard, decode_image
from igcl.data.imageshards.decode import RESAMPLE, center_square_box
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import MANIFEST_SCHEMA


def write_jpeg(path: Path, pixels: np.ndarray, quality: int = 95) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if pixels.ndim == 2 else "RGB"
    Image.fromarray(pixels.astype(np.uint8), mode=mode).save(path, format="JPEG", quality=quality)
    return path


def upper_left_square(side: int = 128) -> np.ndarray:
    pixels = np.zeros((side, side), np.uint8)
    pixels[: side // 2, : side // 2] = 255
    return pixels


def landscape_bands() -> np.ndarray:
    """192 wide x 96 high: white | black | grey | white; the 96 px centre square is the black|grey half."""
    pixels = np.full((96, 192), 255, np.uint8)
    pixels[:, 48:96] = 0
    pixels[:, 96:144] = 128
    return pixels


def label_row(i: int) -> dict[str, float | None]:
    row = {name: None for name in CHEXPERT_OBSERVATIONS}
    row["Cardiomegaly"] = float(i % 3 - 1)  # -1, 0, 1 in turn
    row["Edema"] = 1.0 if i % 2 else None
    return row


def write_manifest(path: Path, images: list[tuple[Path, str]], splits: list[str] | None = None) -> Path:
    """A manifest with one row per (image path, view); study s{i}, patient p{i // 2}, image img{i}."""
    n = len(images)
    table = pa.Table.from_pydict({
        "study_id": [f"s{i}" for i in range(n)],
        "patient_id": [f"p{i // 2}" for i in range(n)],
        "image_id": [f"img{i}" for i in range(n)],
        "split": splits or ["train" if i % 4 else "valid" for i in range(n)],
        "image_path": [str(p) for p, _ in images],
        "view": [v for _, v in images],
        "report_path": [None] * n,
        "labels": [label_row(i) for i in range(n)],
    }, schema=MANIFEST_SCHEMA)
    pq.write_table(table, path)
    return path


def random_jpegs(root: Path, n: int, rng: np.random.Generator, side: int = 48) -> list[Path]:
    return [write_jpeg(root / f"r{i}.jpg", rng.integers(0, 256, (side, side + 8 * (i % 3)), dtype=np.uint8))
            for i in range(n)]


def out_paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "out" / "shard.npy", tmp_path / "out" / "shard.index.parquet"


# ---------------------------------------------------------------------------------------------- decode_image


def test_decode_keeps_orientation(tmp_path):
    path = write_jpeg(tmp_path / "ul.jpg", upper_left_square(128))
    img = decode_image(path, 32)
    assert img.shape == (32, 32) and img.dtype == np.uint8
    assert img[:14, :14].mean() > 245  # bright square stays upper-left (no transpose or flip)
    assert img[18:, :].mean() < 8 and img[:, 18:].mean() < 8


def test_decode_resizes_shorter_side_and_center_crops(tmp_path):
    path = write_jpeg(tmp_path / "wide.jpg", landscape_bands())
    img = decode_image(path, 32).astype(float)
    # the centre 96x96 square of the 192x96 image is black (left half) | grey 128 (right half)
    assert img[:, 2:14].mean() < 6
    assert abs(img[:, 18:30].mean() - 128) < 4
    # the white side bands were cropped away: only filter spill-over (< 1/8 of white) reaches the edge columns
    assert img[:, 0].max() < 40 and img[:, 31].max() < 170


def test_decode_portrait_crops_rows(tmp_path):
    path = write_jpeg(tmp_path / "tall.jpg", landscape_bands().T.copy())
    img = decode_image(path, 32).astype(float)
    assert img[2:14, :].mean() < 6 and abs(img[18:30, :].mean() - 128) < 4


def test_decode_color_jpeg_to_luminance(tmp_path):
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    img = decode_image(write_jpeg(tmp_path / "red.jpg", red), 16)
    assert abs(img.mean() - 0.299 * 255) < 4  # ITU-R 601 luma of pure red


def test_reduced_scale_decode_matches_full_decode(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1024, 0:1280]
    smooth = 128 + 60 * np.sin(xx / 90.0) * np.cos(yy / 70.0) + rng.normal(0, 3, xx.shape)
    path = write_jpeg(tmp_path / "big.jpg", np.clip(smooth, 0, 255))
    fast = decode_image(path, 64).astype(float)
    with Image.open(path) as full:  # reference: full-resolution decode, same crop, LANCZOS
        box = (128, 0, 1152, 1024)
        ref = np.asarray(full.convert("L").resize((64, 64), Image.Resampling.LANCZOS, box=box), dtype=float)
    assert np.abs(fast - ref).mean() < 2.0


# ---------------------------------------------------------------------------------------------- build


def test_build_filters_views_and_aligns_rows(tmp_path):
    rng = np.random.default_rng(1)
    files = random_jpegs(tmp_path / "jpg", 8, rng)
    views = ["PA", "LATERAL", "AP", "PA", "LL", "AP", "LATERAL", "PA"]
    manifest = write_manifest(tmp_path / "m.parquet", list(zip(files, views)))
    npy, index = out_paths(tmp_path)
    summary = build_image_shard(manifest, npy, index, ImagesConfig(size=24))
    kept = [i for i, v in enumerate(views) if v in ("PA", "AP")]
    assert (summary.manifest_rows, summary.selected_rows, summary.images) == (8, 5, 5)

    shard = ImageShard(npy, index)
    assert len(shard) == 5 and shard.image_size == 24 and shard.array.shape == (5, 24, 24)
    assert shard.index["row"].to_pylist() == list(range(5))
    assert shard.index["view"].to_pylist() == [views[i] for i in kept]
    assert list(shard.study_ids(shard.rows())) == [f"s{i}" for i in kept]
    assert list(shard.patient_ids([0, 4])) == [f"p{kept[0] // 2}", f"p{kept[4] // 2}"]
    for row, i in enumerate(kept):
        np.testing.assert_array_equal(shard[row], decode_image(files[i], 24))
    labels = shard.labels(shard.rows())
    assert labels.shape == (5, 14) and labels.dtype == np.float32
    card, edema = CHEXPERT_OBSERVATIONS.index("Cardiomegaly"), CHEXPERT_OBSERVATIONS.index("Edema")
    assert labels[:, card].tolist() == [float(i % 3 - 1) for i in kept]
    assert [bool(np.isnan(x)) for x in labels[:, edema]] == [i % 2 == 0 for i in kept]
    assert np.isnan(labels[:, CHEXPERT_OBSERVATIONS.index("No Finding")]).all()
    # split filter: rows whose manifest split is "valid" (i % 4 == 0)
    assert shard.rows("valid").tolist() == [r for r, i in enumerate(kept) if i % 4 == 0]
    with pytest.raises(ValueError, match="no rows of split 'val'"):
        shard.rows("val")


def test_threads_1_and_2_give_identical_bytes(tmp_path):
    rng = np.random.default_rng(2)
    files = random_jpegs(tmp_path / "jpg", 40, rng)
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "PA") for f in files])
    outputs = []
    for threads in (1, 2):
        npy, index = tmp_path / f"t{threads}.npy", tmp_path / f"t{threads}.index.parquet"
        build_image_shard(manifest, npy, index, ImagesConfig(size=16), threads=threads, chunk_size=3)
        outputs.append((npy.read_bytes(), pq.read_table(index)))
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1].equals(outputs[1][1])


def corrupt_scan(path: Path, n_bytes: int = 200, seed: int = 0) -> Path:
    """Overwrite ``n_bytes`` in the middle of the JPEG's entropy-coded data (after the SOS segment), keeping the
    file's length; the bytes are < 0xFF, so they form no marker and only libjpeg's "Corrupt JPEG data" warning
    (which PIL ignores) reports them."""
    data = bytearray(path.read_bytes())
    sos = data.index(b"\xff\xda")
    scan_start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    start = (scan_start + len(data)) // 2
    assert start - scan_start > n_bytes and len(data) - 2 - start > n_bytes, "scan too short to corrupt"
    data[start:start + n_bytes] = np.random.default_rng(seed).integers(0, 0xFF, n_bytes, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def make_bad_file(kind: str, tmp_path: Path) -> Path:
    bad = tmp_path / "jpg" / f"bad_{kind}.jpg"
    if kind == "corrupt_scan":
        write_jpeg(bad, np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8))
        corrupt_scan(bad)
    elif kind == "truncated":
        write_jpeg(bad, np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8))
        data = bad.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "not_jpeg":
        bad.write_bytes(b"this is a radiology report, not an image\n" * 10)
    elif kind == "png":
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(bad, format="PNG")
    return bad  # "missing": never written


@pytest.mark.parametrize("kind,reason", [("corrupt_scan", "corrupt or truncated JPEG (Corrupt JPEG data"),
                                         ("truncated", "truncated"), ("not_jpeg", "not an image file"),
                                         ("png", "not a JPEG (PIL reads it as PNG)"), ("missing", "file not found")])
def test_bad_file_is_an_error_naming_file_and_row(tmp_path, kind, reason):
    files = random_jpegs(tmp_path / "jpg", 4, np.random.default_rng(4))
    files.insert(2, make_bad_file(kind, tmp_path))
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "PA") for f in files])
    npy, index = out_paths(tmp_path)
    with pytest.raises(CorruptImageError) as info:
        build_image_shard(manifest, npy, index, ImagesConfig(size=16))
    message = str(info.value)
    assert str(files[2]) in message and reason in message
    assert "row 2 (0-based)" in message and "study s2" in message and str(manifest) in message
    assert list((tmp_path / "out").iterdir()) == []  # no output, no temp file


@pytest.mark.parametrize("kind", ["corrupt_scan", "truncated", "not_jpeg", "png", "missing"])
def test_bad_file_is_skipped_and_counted(tmp_path, kind):
    files = random_jpegs(tmp_path / "jpg", 5, np.random.default_rng(5))
    files.insert(1, make_bad_file(kind, tmp_path))
    files.insert(4, make_bad_file("missing", tmp_path / "more"))
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "AP") for f in files])
    npy, index = out_paths(tmp_path)
    summary = build_image_shard(manifest, npy, index, ImagesConfig(size=16, on_corrupt="skip"), threads=2,
                                chunk_size=2)
    assert [s.manifest_row for s in summary.skipped] == [1, 4]
    assert [s.image_path for s in summary.skipped] == [str(files[1]), str(files[4])]
    assert summary.images == 5
    shard = ImageShard(npy, index)
    good = [0, 2, 3, 5, 6]
    assert list(shard.study_ids(shard.rows())) == [f"s{i}" for i in good]
    for row, i in enumerate(good):
        np.testing.assert_array_equal(shard[row], decode_image(files[i], 16))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shard.index.parquet", "shard.npy"]


def test_scan_corruption_passes_pil_but_not_the_stage(tmp_path):
    """The audit's case: garbage inside the scan data decodes with PIL, no error, into wrong pixels."""
    pixels = np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8)
    good = write_jpeg(tmp_path / "good.jpg", pixels)
    bad = corrupt_scan(write_jpeg(tmp_path / "bad.jpg", pixels))
    assert bad.stat().st_size == good.stat().st_size
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # PIL's strictest setting
    with Image.open(bad) as img:
        img.load()  # no error
        from_pil = np.asarray(img)
    with Image.open(good) as img:
        assert np.abs(from_pil.astype(int) - np.asarray(img)).mean() > 10  # and the pixels are garbage
    decode_image(good, 16)
    with pytest.raises(CorruptImageError, match=r"bad\.jpg: corrupt or truncated JPEG \(Corrupt JPEG data"):
        decode_image(bad, 16)


@pytest.mark.parametrize("size", [8, 16, 40, 100, 300])
def test_decode_matches_pil_reduced_scale_decode(tmp_path, size):
    """Same pixels as the PIL ``draft`` path the stage used before strict decoding (same libjpeg scale, resize)."""
    rng = np.random.default_rng(size)
    for i, (height, width) in enumerate([(300, 256), (97, 1030), (811, 633), (64, 64)]):
        pixels = rng.integers(0, 256, (height, width, 3) if i == 2 else (height, width), dtype=np.uint8)
        path = write_jpeg(tmp_path / f"{i}.jpg", pixels, quality=90)
        with Image.open(path) as img:
            img.draft("L", (size, size))
            gray = img.convert("L")
            ref = gray.resize((size, size), RESAMPLE, box=center_square_box(*gray.size))
        np.testing.assert_array_equal(decode_image(path, size), np.asarray(ref), err_msg=f"{height}x{width}")


def test_no_selected_views_is_an_error(tmp_path):
    files = random_jpegs(tmp_path / "jpg", 2, np.random.default_rng(6))
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "LATERAL") for f in files])
    with pytest.raises(ValueError, match=r"no rows with view in \['PA', 'AP', 'FRONTAL'\].*LATERAL"):
        build_image_shard(manifest, *out_paths(tmp_path), ImagesConfig())


# ---------------------------------------------------------------------------------------------- ImageShard


@pytest.fixture
def small_shard(tmp_path) -> tuple[Path, Path]:
    files = random_jpegs(tmp_path / "jpg", 6, np.random.default_rng(7))
    manifest = write_manifest(tmp_path / "m.parquet", [(f, "PA") for f in files])
    npy, index = out_paths(tmp_path)
    build_image_shard(manifest, npy, index, ImagesConfig(size=16))
    return npy, index


def test_shard_rejects_mismatched_array_and_index(small_shard, tmp_path):
    npy, index = small_shard
    other = tmp_path / "other.npy"
    np.save(other, np.zeros((5, 16, 16), np.uint8))
    with pytest.raises(ValueError, match=r"other\.npy holds 5 images but .*shard\.index\.parquet has 6 rows"):
        ImageShard(other, index)
    np.save(other, np.zeros((6, 16, 16), np.float32))
    with pytest.raises(ValueError, match="expected a uint8 array"):
        ImageShard(other, index)
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        ImageShard(tmp_path / "nope.npy", index)


def test_shard_array_is_read_only_and_pickles_by_path(small_shard):
    shard = ImageShard(*small_shard)
    assert isinstance(shard.array, np.memmap)
    with pytest.raises(ValueError):
        shard.array[0, 0, 0] = 1
    clone = pickle.loads(pickle.dumps(shard))
    assert len(pickle.dumps(shard)) < 1000  # the path, not the pixels
    np.testing.assert_array_equal(clone.images([5, 0]), shard.array[[5, 0]])


# ---------------------------------------------------------------------------------------------- normalise / config


def test_normalize_images_values_and_shape():
    batch = np.array([[[0, 255], [128, 64]]], dtype=np.uint8)  # [1, 2, 2]
    out = normalize_images(batch)
    assert out.dtype == torch.float32 and tuple(out.shape) == (1, 1, 2, 2)
    expected = (np.array([[0, 255], [128, 64]]) / 255.0 - 0.5) / 0.25
    np.testing.assert_allclose(out[0, 0].numpy(), expected, atol=1e-6)
    assert out.min().item() == -2.0 and out.max().item() == 2.0
    torch.testing.assert_close(normalize_images(torch.from_numpy(batch).unsqueeze(1)), out)
    torch.testing.assert_close(normalize_images(batch, device="cpu"), out)
    with pytest.raises(TypeError, match="expected uint8"):
        normalize_images(out)
    with pytest.raises(ValueError, match=r"expected shape \[B, H, W\]"):
        normalize_images(np.zeros((2, 3, 4, 4), np.uint8))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_normalize_images_on_gpu_matches_cpu():
    batch = np.random.default_rng(8).integers(0, 256, (4, 16, 16), dtype=np.uint8)
    on_gpu = normalize_images(batch, device="cuda")
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), normalize_images(batch))


@pytest.mark.parametrize("values,key", [({"size": 4}, "images.size"), ({"on_corrupt": "ignore"}, "on_corrupt"),
                                        ({"views": ()}, "images.views"), ({"views": ("pa",)}, "images.views")])
def test_config_rejects_bad_values(values, key):
    with pytest.raises(ValueError, match=key):
        ImagesConfig(**values)
