#!/usr/bin/env python
"""Benchmark the images stage's decode: PIL ``Image.draft`` (before) vs strict simplejpeg (now), images/s.

The stage used to decode with PIL: ``Image.draft("L", (size, size))`` then ``load()``; libjpeg's "Corrupt JPEG
data" warnings pass silently there, so a damaged file came out as garbage pixels. It now decodes with
``simplejpeg.decode_jpeg(strict=True)`` at the same DCT-domain reduction (:func:`igcl.data.imageshards.decode
.decode_image`). Both do the same resize and crop afterwards. This times both, one process, on:

1. ``--small`` phantom images (the phantom generator's renderer at ``--small-side`` px, saved at quality 90), and
2. ``--large`` synthetic radiograph-like JPEGs at ``--large-side`` x 1.2 * ``--large-side`` px (smooth random
   field plus noise, quality 90; real MIMIC-CXR-JPG images are about 2500 px),

or on the JPEGs of ``--dir``. Files are read once first, so both paths read from the page cache. Each repeat times
both decoders in turn (alternating which goes first); it prints min / median / max images per wall second over
``--repeats``, the median per CPU second (steadier when other jobs share the cores), and how many outputs differ
between the two (expected: none).

Usage: bench/decode_speed.py [--small 500] [--large 40] [--size 64] [--repeats 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from igcl.data.imageshards.decode import RESAMPLE, center_square_box, decode_image


def pillow_draft_decode(path: str, size: int) -> np.ndarray:
    """The stage's decode before strict decoding (commit 00cfa97): PIL reduced-scale decode, resize, crop."""
    with Image.open(path) as img:
        if img.format != "JPEG":
            raise ValueError(f"{path}: not a JPEG")
        img.draft("L", (size, size))
        img.load()
        gray = img if img.mode == "L" else img.convert("L")
        out = gray.resize((size, size), RESAMPLE, box=center_square_box(*gray.size))
    return np.asarray(out, dtype=np.uint8)


def synthetic_xray(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random field (upsampled coarse noise) plus fine noise: compresses like a radiograph, not like noise."""
    coarse = rng.normal(128, 40, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC))
    field = field + rng.normal(0, 6, (height, width)).astype(np.float32)
    return np.clip(field, 0, 255).astype(np.uint8)


def write_phantom_jpegs(root: Path, n: int, side: int, seed: int) -> list[str]:
    """``n`` frontal and lateral phantom images as the phantom stage renders and saves them (quality 90)."""
    from igcl.data.phantom.config import PhantomConfig
    from igcl.data.phantom.render import render
    from igcl.data.phantom.study import MIMIC, sample_study, sample_subject, subject_table

    cfg = PhantomConfig(seed=seed, pretrain_studies=n, image_size=side)
    table = subject_table(cfg, MIMIC, n)
    paths: list[str] = []
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        study = sample_study(cfg, MIMIC, i, sample_subject(cfg, MIMIC, int(table.subject_of[i])), int(table.order[i]))
        for image in study.images:
            if len(paths) == n:
                return paths
            pixels, _ = render(image.spec)
            path = root / f"phantom{len(paths):04d}.jpg"
            Image.fromarray(pixels, "L").save(path, format="JPEG", quality=90)
            paths.append(str(path))
    return paths


def write_large_jpegs(root: Path, n: int, side: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"large{i:04d}.jpg"
        Image.fromarray(synthetic_xray(rng, int(side * 1.2), side)).save(path, format="JPEG", quality=90)
        paths.append(str(path))
    return paths


def time_decoder(decode: Callable[[str, int], np.ndarray], paths: list[str], size: int) -> tuple[float, float]:
    """images per wall second and per CPU second of this process (the latter ignores other jobs on the cores)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        decode(path, size)
    return len(paths) / (time.perf_counter() - wall), len(paths) / (time.process_time() - cpu)


def bench_set(name: str, paths: list[str], size: int, repeats: int) -> None:
    for path in paths:  # into the page cache
        Path(path).read_bytes()
    differ = max_diff = 0
    for path in paths:
        diff = np.abs(pillow_draft_decode(path, size).astype(np.int16) - decode_image(path, size)).max()
        differ += int(diff > 0)
        max_diff = max(max_diff, int(diff))
    decoders = {"pillow_draft": pillow_draft_decode, "strict_simplejpeg": decode_image}
    walls: dict[str, list[float]] = {key: [] for key in decoders}
    cpus: dict[str, list[float]] = {key: [] for key in decoders}
    for repeat in range(repeats):
        order = list(decoders) if repeat % 2 == 0 else list(reversed(decoders))
        for key in order:
            wall, cpu = time_decoder(decoders[key], paths, size)
            walls[key].append(wall)
            cpus[key].append(cpu)
    with Image.open(paths[0]) as first:
        shape = f"{first.size[0]}x{first.size[1]}"
    for key in decoders:
        w, c = walls[key], cpus[key]
        print(f"{name:8s} {shape:>10s} {len(paths):6d} {size:5d}  {key:18s} {min(w):9.1f} {statistics.median(w):9.1f} "
              f"{max(w):9.1f}  {statistics.median(c):9.1f}", flush=True)
    ratios = [statistics.median(r["strict_simplejpeg"]) / statistics.median(r["pillow_draft"]) for r in (walls, cpus)]
    print(f"{'':8s} strict / pillow (median): wall {ratios[0]:.3f}, cpu {ratios[1]:.3f}; outputs differing: "
          f"{differ} of {len(paths)} (max |diff| {max_diff})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=500, help="phantom JPEGs")
    parser.add_argument("--small-side", type=int, default=256, help="phantom image side in px")
    parser.add_argument("--large", type=int, default=40, help="large synthetic JPEGs")
    parser.add_argument("--large-side", type=int, default=2500, help="large JPEG width in px (height 1.2x)")
    parser.add_argument("--size", type=int, default=64, help="stored image size (images.size)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per decoder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="time these *.jpg files instead of generated ones")
    args = parser.parse_args()
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise SystemExit("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: the PIL path would not be the stage's")
    print(f"# cpu cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"python {sys.version.split()[0]}; repeats {args.repeats}")
    print(f"{'set':8s} {'source_px':>10s} {'images':>6s} {'size':>5s}  {'decoder':18s} {'min':>9s} {'median':>9s} "
          f"{'max':>9s}  {'cpu_med':>9s}  (images per wall s; cpu_med: per CPU s; one process)")
    if args.dir is not None:
        paths = sorted(str(p) for p in args.dir.rglob("*.jpg"))
        if not paths:
            raise SystemExit(f"{args.dir}: no *.jpg files")
        bench_set("dir", paths, args.size, args.repeats)
        return 0
    with tempfile.TemporaryDirectory(prefix="igcl-bench-decode-") as tmp:
        t0 = time.perf_counter()
        small = write_phantom_jpegs(Path(tmp) / "small", args.small, args.small_side, args.seed)
        large = write_large_jpegs(Path(tmp) / "large", args.large, args.large_side, args.seed)
        print(f"# wrote {len(small)} phantom + {len(large)} large JPEGs in {time.perf_counter() - t0:.1f} s")
        bench_set("phantom", small, args.size, args.repeats)
        bench_set("large", large, args.size, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
