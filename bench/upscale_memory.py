"""Peak memory of `Upscaler` on a 4000×3000 photo: bounded by the tile, not the image.

Runs a small random EDSR (2 blocks, 16 features, x2) over a 4000×3000 RGB image with several
tile sizes, each in a fresh process, and prints peak resident memory and time beside the size of
ONE full-image feature map of that network (what untiled inference would hold many of).

    .venv/bin/python bench/upscale_memory.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

H, W, SCALE, FEATURES = 3000, 4000, 2, 16
TILES = (128, 256, 512)


def child(tile: int) -> None:
    import numpy as np
    import torch

    from srlab.archs.edsr import EDSR, SPEC
    from srlab.infer.upscaler import Upscaler
    from srlab.zoo import LoadedModel

    torch.manual_seed(0)
    net = EDSR(scale=SCALE, blocks=2, features=FEATURES)
    model = LoadedModel("edsr-small", "edsr", SCALE, net, SPEC)
    image = np.random.default_rng(0).random((H, W, 3), dtype=np.float32)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = Upscaler(model, tile=tile, tile_overlap=16).upscale_array(image)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tile": tile, "seconds": seconds, "peak_mib": peak / 1024,
                      "before_mib": baseline / 1024, "output_mib": out.nbytes / 2**20}))


def main() -> None:
    feature_map = H * W * FEATURES * 4 / 2**20
    print(f"image {W}x{H} x{SCALE}; one full-image {FEATURES}-channel float32 feature map: "
          f"{feature_map:.0f} MiB")
    print("| tile | time (s) | peak RSS (MiB) | of which input+output (MiB) |")
    print("|---:|---:|---:|---:|")
    for tile in TILES:
        result = subprocess.run(
            [sys.executable, __file__, str(tile)], capture_output=True, text=True, check=True
        )
        r = json.loads(result.stdout)
        print(f"| {tile} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | "
              f"{r['before_mib'] + r['output_mib']:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(int(sys.argv[1]))
    else:
        main()
