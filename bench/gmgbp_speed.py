"""How fast the default model (G-MGBP R3, W = 0) upscales on the CPU, and what bf16 costs.

Times one 128x96 input at x4 with 2 threads, in one run:
  1. plain: contiguous float32 under torch.no_grad (what a naive script does);
  2. channels_last float32 under torch.inference_mode;
  3. (2) plus bf16 autocast;
  4. (2) with the weights themselves in bf16 (`srlab upscale --half`).
Prints medians, the ratios against (1), and the mean PSNR-Y change that bf16 makes on the dev
photos (centre crops of 512x384 HR, MATLAB bicubic x4 LR, 4-pixel border).

    .venv/bin/python bench/gmgbp_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srlab.metrics import psnr
from srlab.ops.resize import imresize
from srlab.zoo import load_model

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "photos" / "dev"
CROP = (384, 512)


def timed(run: Callable[[], torch.Tensor], repeats: int) -> float:
    run()  # warm-up (oneDNN primitive creation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def variants(module: torch.nn.Module) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    last = copy.deepcopy(module).to(memory_format=torch.channels_last)
    half = copy.deepcopy(last).to(torch.bfloat16)

    def plain(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return module(x.contiguous())

    def channels_last(x: torch.Tensor, autocast: bool = False) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        amp = torch.autocast("cpu", torch.bfloat16) if autocast else contextlib.nullcontext()
        with torch.inference_mode(), amp:
            return last(x).float()

    def bf16_weights(x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last).to(torch.bfloat16)
        with torch.inference_mode():
            return half(x).float()

    return {
        "plain contiguous fp32": plain,
        "channels_last fp32 + inference_mode": channels_last,
        "  + bf16 autocast": lambda x: channels_last(x, autocast=True),
        "channels_last, bf16 weights (--half)": bf16_weights,
    }


def dev_pairs() -> list[tuple[np.ndarray, torch.Tensor]]:
    pairs = []
    for path in sorted(DEV.glob("*.png")):
        hr = np.asarray(Image.open(path).convert("RGB")).astype(np.float64) / 255
        top, left = (hr.shape[0] - CROP[0]) // 2, (hr.shape[1] - CROP[1]) // 2
        hr = hr[max(top, 0) : max(top, 0) + CROP[0], max(left, 0) : max(left, 0) + CROP[1]]
        hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
        lr = np.clip(np.round(imresize(hr, 0.25) * 255), 0, 255) / 255
        pairs.append((hr, torch.from_numpy(lr).float().permute(2, 0, 1)[None]))
    return pairs


def mean_psnr(run: Callable[[torch.Tensor], torch.Tensor], pairs: list) -> float:
    scores = []
    for hr, lr in pairs:
        sr = run(lr)[0].clamp(0, 1).permute(1, 2, 0).numpy().astype(np.float64)
        scores.append(psnr(np.round(sr * 255) / 255, hr, crop_border=4))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    module = load_model("default", scale=4).module
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    runs = variants(module)
    base = None
    print(f"G-MGBP R3 x4, W = 0, input 128x96, {torch.get_num_threads()} threads")
    for name, run in runs.items():
        seconds = timed(lambda run=run: run(x), args.repeats)
        base = base or seconds
        print(f"{name:40s} {seconds * 1000:8.1f} ms   x{base / seconds:.2f}")
    pairs = dev_pairs()
    reference = mean_psnr(runs["channels_last fp32 + inference_mode"], pairs)
    print(f"dev photos ({len(pairs)} crops) PSNR-Y fp32: {reference:.3f} dB")
    for name in ("  + bf16 autocast", "channels_last, bf16 weights (--half)"):
        delta = mean_psnr(runs[name], pairs) - reference
        print(f"{name.strip():40s} PSNR-Y change {delta:+.3f} dB")


if __name__ == "__main__":
    main()
