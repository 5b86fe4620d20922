"""``igcl images`` end to end on a tiny manifest: outputs, sidecars, skip bookkeeping, errors leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from igcl.cli.images import main
from igcl.data.imageshards.reader import ImageShard
from igcl.data.imageshards import CorruptImageError
from igcl.labels import CHEXPERT_OBSERVATIONS
from igcl.contracts.schema import MANIFEST_SCHEMA


def tiny_manifest(tmp_path: Path, views: list[str], broken: int | None = None) -> Path:
    """JPEGs whose every pixel is 20 * i (row i), and a manifest naming them; row ``broken`` is truncated."""
    paths = []
    for i in range(len(views)):
        path = tmp_path / "files" / f"img{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 50), 20 * i, np.uint8)).save(path, format="JPEG", quality=95)
        if i == broken:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        paths.append(str(path))
    n = len(views)
    table = pa.Table.from_pydict({
        "study_id": [f"s{i}" for i in range(n)], "patient_id": [f"p{i}" for i in range(n)],
        "image_id": [f"d{i}" for i in range(n)], "split": ["train"] * n, "image_path": paths, "view": views,
        "report_path": [None] * n,
        "labels": [{name: (1.0 if name == "Edema" else None) for name in CHEXPERT_OBSERVATIONS}] * n,
    }, schema=MANIFEST_SCHEMA)
    manifest = tmp_path / "manifests" / "eval.parquet"
    manifest.parent.mkdir(parents=True)
    pq.write_table(table, manifest)
    return manifest


def run(tmp_path: Path, manifest: Path, settings: dict, threads: int = 1) -> tuple[Path, Path]:
    out, index = tmp_path / "images" / "eval.npy", tmp_path / "images" / "eval.index.parquet"
    assert main(["--settings", json.dumps(settings), "--manifest", str(manifest), "--out", str(out),
                 "--index", str(index), "--threads", str(threads), "--log", str(tmp_path / "log.txt")]) == 0
    return out, index


def test_writes_array_index_and_sidecars(tmp_path):
    manifest = tiny_manifest(tmp_path, ["PA", "LATERAL", "AP", "AP"])
    out, index = run(tmp_path, manifest, {"size": 8, "views": ["PA", "AP"], "on_corrupt": "error"}, threads=2)
    shard = ImageShard(out, index)
    assert shard.array.shape == (3, 8, 8)
    assert [int(round(shard[r].mean())) for r in range(3)] == [0, 40, 60]  # rows 0, 2, 3 of the manifest
    assert list(shard.study_ids(shard.rows("train"))) == ["s0", "s2", "s3"]
    assert (shard.labels([0, 1, 2])[:, CHEXPERT_OBSERVATIONS.index("Edema")] == 1.0).all()
    meta = json.loads((out.parent / "eval.npy.meta.json").read_text())
    assert meta["rows"] == {"manifest": 4, "selected": 3, "images": 3, "skipped": 0}
    assert meta["config"] == {"size": 8, "resize": "crop", "views": ["PA", "AP"], "on_corrupt": "error"}
    assert (out.parent / "eval.index.parquet.meta.json").is_file()


def test_skip_records_the_skipped_files(tmp_path):
    manifest = tiny_manifest(tmp_path, ["PA", "PA", "PA"], broken=1)
    out, index = run(tmp_path, manifest, {"size": 8, "on_corrupt": "skip"})
    assert len(ImageShard(out, index)) == 2
    meta = json.loads((out.parent / "eval.npy.meta.json").read_text())
    assert meta["rows"]["skipped"] == 1 and meta["rows"]["images"] == 2
    assert [s["image_path"] for s in meta["skipped_files"]] == [str(tmp_path / "files" / "img1.jpg")]
    assert meta["skipped_files"][0]["manifest_row"] == 1
    log = (tmp_path / "log.txt").read_text()
    assert "skipped 1 corrupt or missing image(s)" in log and "img1.jpg" in log


def test_error_mode_names_the_file_and_writes_nothing(tmp_path):
    manifest = tiny_manifest(tmp_path, ["PA", "PA", "PA"], broken=2)
    with pytest.raises(CorruptImageError, match=r"img2\.jpg: corrupt or truncated JPEG .*row 2 \(0-based\), study s2"):
        run(tmp_path, manifest, {"size": 8})
    assert list((tmp_path / "images").iterdir()) == []
    assert "images stage failed: " in (tmp_path / "log.txt").read_text()
    assert "img2.jpg" in (tmp_path / "log.txt").read_text()


def corrupt_mid_scan(path: Path) -> None:
    """Replace ``path`` with a noise JPEG whose scan data has 200 bytes (< 0xFF) overwritten in the middle: PIL
    decodes it without an error (libjpeg only warns), the stage must not."""
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(path, format="JPEG")
    data = bytearray(path.read_bytes())
    sos = data.index(b"\xff\xda")
    middle = (sos + len(data)) // 2
    data[middle:middle + 200] = np.random.default_rng(1).integers(0, 0xFF, 200, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with Image.open(path) as img:
        img.load()


@pytest.mark.parametrize("on_corrupt", ["error", "skip"])
def test_corrupt_scan_data_is_caught(tmp_path, on_corrupt):
    manifest = tiny_manifest(tmp_path, ["PA", "PA", "PA"])
    corrupt_mid_scan(tmp_path / "files" / "img1.jpg")
    if on_corrupt == "error":
        with pytest.raises(CorruptImageError, match=r"img1\.jpg: corrupt or truncated JPEG \(Corrupt JPEG data.*"
                                                    r"row 1 \(0-based\), study s1"):
            run(tmp_path, manifest, {"size": 8})
        assert list((tmp_path / "images").iterdir()) == []
        return
    out, index = run(tmp_path, manifest, {"size": 8, "on_corrupt": "skip"})
    assert [int(round(m)) for m in np.load(out).mean(axis=(1, 2))] == [0, 40]
    meta = json.loads((out.parent / "eval.npy.meta.json").read_text())
    assert meta["rows"]["skipped"] == 1 and meta["skipped_files"][0]["manifest_row"] == 1
    assert "Corrupt JPEG data" in meta["skipped_files"][0]["reason"]


def test_unknown_setting_is_rejected(tmp_path):
    manifest = tiny_manifest(tmp_path, ["PA"])
    with pytest.raises(ValueError, match=r"images: unknown key\(s\) \['resolution'\]"):
        run(tmp_path, manifest, {"resolution": 8})
