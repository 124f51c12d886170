"""How far tile borders reach into a BSR's output: the measurement behind its declared radius.

BSR's full reach is 195 LR pixels (srlab/archs/bsr.py), far more than tiles can afford, but the
weight of far pixels decays fast. This script takes a BSR (a model file, or by default a
width-16, full-depth x4 BSR trained here for 1,200 iterations of batch 8 on 24-pixel LR
patches, about 20 minutes on one CPU thread) and prints, for each of three dev photos (top-left
640x640 HR crops, MATLAB bicubic LR), the PSNR against bicubic and the largest difference
between tiled and whole-image output, in levels of 255, for several tile overlaps.

    .venv/bin/python bench/bsr_tile_reach.py [--model MODEL.safetensors] [--iterations 1200]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from srlab.archs import ARCHITECTURES
from srlab.infer.upscaler import Upscaler
from srlab.io import read_image
from srlab.losses import LOSSES
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel, load_model

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
OVERLAPS = (4, 8, 12, 16, 24, 32, 48)
SCALE = 4
CROP = 640


def train_probe(width: int, iterations: int, seed: int = 0) -> torch.nn.Module:
    """A full-depth x4 BSR of `width` features trained briefly with BSR's loss (Adam 5e-4)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    photos = [read_image(p).rgb for p in sorted((PHOTOS / "train").glob("*.png"))[:40]]
    net = ARCHITECTURES["bsr"].build(scale=SCALE, features=width)
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-4)
    loss_fn = LOSSES["mixed_norm"]()
    side = 24 * SCALE
    start = time.time()
    for iteration in range(iterations):
        patches = []
        for _ in range(8):
            photo = photos[rng.integers(len(photos))]
            y, x = rng.integers(photo.shape[0] - side), rng.integers(photo.shape[1] - side)
            patches.append(np.rot90(photo[y : y + side, x : x + side], rng.integers(4)))
        hr = torch.from_numpy(np.ascontiguousarray(np.stack(patches))).permute(0, 3, 1, 2)
        loss = loss_fn(net(imresize(hr, scale=1 / SCALE)), hr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % 100 == 0:
            print(f"iteration {iteration}: loss {loss.item():.4f} ({time.time() - start:.0f} s)")
    return net.eval()


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(-10 * np.log10(np.mean((image - reference) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a BSR model file (default: train a small one here)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=1200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.model:
        model = load_model(args.model)
    else:
        net = train_probe(args.width, args.iterations)
        model = LoadedModel("bsr-probe", "bsr", SCALE, net, ARCHITECTURES["bsr"].spec)
    # Declare no radius, so that the tiler keeps exactly the overlaps asked for.
    model = replace(model, spec=replace(model.spec, receptive_radius=0))
    for path in sorted((PHOTOS / "dev").glob("*.png"))[:3]:
        hr = read_image(path).rgb[:CROP, :CROP]
        lr = np.clip(imresize(hr, scale=1 / model.scale), 0, 1).astype(np.float32)
        hr = hr[: lr.shape[0] * model.scale, : lr.shape[1] * model.scale]
        whole = Upscaler(model, tile=0).upscale_array(lr)
        bicubic = np.clip(imresize(lr, scale=model.scale), 0, 1)
        row = [f"{path.stem}: {psnr(whole, hr) - psnr(bicubic, hr):+.2f} dB over bicubic"]
        for overlap in OVERLAPS:
            tiled = Upscaler(model, tile=max(48, 2 * overlap), tile_overlap=overlap)
            difference = 255 * np.abs(tiled.upscale_array(lr) - whole).max()
            row.append(f"overlap {overlap}: {difference:.3f}")
        print(" | ".join(row))


if __name__ == "__main__":
    main()
