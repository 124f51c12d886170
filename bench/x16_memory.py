"""Fast-SRFBN ×16 on a 1020×678 photo (a 16320×10848 output): peak memory and time.

Runs the shipped `fast-srfbn-srlab-x16` (the authors' configuration: 64 features, T = 4,
6 IMDBs) through `Upscaler` with its default tile and writes the result as an
8-bit PNG, in a fresh process, then prints peak resident memory beside the sizes of the output
(float32 accumulator and 8-bit image) and of ONE full-size 64-channel feature map, which untiled
inference would hold several of.

    .venv/bin/python bench/x16_memory.py [--tile N] [--half]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

H, W, SCALE = 678, 1020, 16


def child(tile: int | None, half: bool) -> None:
    import numpy as np

    from srlab.infer.upscaler import Upscaler
    from srlab.io import DecodedImage, write_image
    from srlab.zoo import load_model

    model = load_model("fast-srfbn-srlab-x16")
    rgb = np.random.default_rng(0).random((H, W, 3), dtype=np.float32)
    image = DecodedImage(rgb=rgb, alpha=None, bit_depth=8, format="PNG", path=None)
    upscaler = Upscaler(model, tile=tile, half=half)
    start = time.perf_counter()
    out = upscaler.upscale(image)
    upscaled = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        write_image(Path(tmp) / "out.png", out, overwrite=False)
        size = (Path(tmp) / "out.png").stat().st_size
    total = time.perf_counter() - start
    print(json.dumps({
        "tile": upscaler.tile, "upscale_s": upscaled, "total_s": total,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "png_mib": size / 2**20, "dtype": str(upscaler.dtype),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--half", action="store_true")
    args = parser.parse_args()
    out_px = H * SCALE * W * SCALE
    print(f"input {W}x{H}, output {W * SCALE}x{H * SCALE}: float32 accumulator "
          f"{out_px * 12 / 2**20:.0f} MiB, 8-bit image {out_px * 3 / 2**20:.0f} MiB, one full-size "
          f"64-channel feature map {out_px * 64 * 4 / 2**30:.1f} GiB")
    command = [sys.executable, __file__, "--child", str(args.tile or 0), str(int(args.half))]
    r = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    print(f"tile {r['tile']} ({r['dtype']}): upscale {r['upscale_s']:.0f} s, with PNG writing "
          f"{r['total_s']:.0f} s; peak RSS {r['peak_mib']:.0f} MiB; PNG {r['png_mib']:.0f} MiB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]) or None, bool(int(sys.argv[3])))
    else:
        main()
