"""Time srlab's imresize against Pillow's bicubic resize on a 2040 x 1356 RGB image down by 4.

Run: .venv/bin/python bench/resize.py. Prints median times and the ratio ours / Pillow, and
exits non-zero when ours is more than ``--max-ratio`` (default 3) times slower than Pillow RGB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from srlab.ops import imresize

WIDTH, HEIGHT, FACTOR = 2040, 1356, 4


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``fn`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--max-ratio", type=float, default=3.0)
    args = parser.parse_args()

    rgb = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    out_wh = (WIDTH // FACTOR, HEIGHT // FACTOR)
    tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)) / np.float32(255))
    pil_rgb = Image.fromarray(rgb, "RGB")
    pil_planes = [Image.fromarray(rgb[..., c].astype(np.float32) / 255, "F") for c in range(3)]

    ours = median_ms(lambda: imresize(tensor, 1 / FACTOR), args.repeats)
    pillow_rgb = median_ms(lambda: pil_rgb.resize(out_wh, Image.Resampling.BICUBIC), args.repeats)
    pillow_f = median_ms(
        lambda: [p.resize(out_wh, Image.Resampling.BICUBIC) for p in pil_planes], args.repeats
    )

    print(f"image {WIDTH}x{HEIGHT} RGB down x{FACTOR}, torch threads {torch.get_num_threads()}")
    print(f"{'srlab imresize, float32 3xHxW tensor':40s} {ours:7.2f} ms")
    for label, ms in (
        ("Pillow BICUBIC, mode RGB (uint8)", pillow_rgb),
        ("Pillow BICUBIC, mode F, 3 planes", pillow_f),
    ):
        print(f"{label:40s} {ms:7.2f} ms   ours/Pillow {ours / ms:.2f}")
    if ours / pillow_rgb > args.max_ratio:
        print(f"FAIL: ours is more than {args.max_ratio}x slower than Pillow RGB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
