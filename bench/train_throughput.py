"""Seconds per training iteration: our trainer against a bare PyTorch loop, in one run.

EDSR baseline (16 blocks, 64 features) x4, batch 16, LR patch 48, L1, Adam, on the CPU. Ours runs
through the real data pipeline (the photos in ../shared/data/photos/train, BI degradation) and
the Trainer twice (channels_last float32, then channels_last with bf16 autocast, i.e.
`train.amp: true`); the bare loop runs the same network on random tensors in plain contiguous
float32. Prints medians after warm-up, the ratios and the share of wall time our trainer spent
waiting for data.

    .venv/bin/python bench/train_throughput.py [--iterations 6] [--workers 0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from srlab.archs.edsr import EDSR
from srlab.config import load_config
from srlab.train.schema import ExperimentConfig
from srlab.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos" / "train"
WARMUP = 2


def bare_loop(iterations: int) -> list[float]:
    torch.manual_seed(0)
    net = EDSR(scale=4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr, hr = torch.rand(16, 3, 48, 48), torch.rand(16, 3, 192, 192)
    times = []
    for _ in range(iterations + WARMUP):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        nn.functional.l1_loss(net(lr), hr).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return times[WARMUP:]


def ours(iterations: int, amp: bool, workers: int) -> tuple[list[float], float]:
    raw = {
        "name": "bench",
        "scale": 4,
        "data": {"train": {"hr_folder": str(PHOTOS), "patch_size": 48, "batch_size": 16,
                           "num_workers": workers}},
        "networks": {"g": {"arch": "edsr", "optimizer": {"lr": 1e-4}}},
        "train": {"iterations": iterations + WARMUP, "checkpoint_every": 10**9,
                  "tensorboard": False, "amp": amp, "channels_last": True},
    }
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(load_config(ExperimentConfig, raw), run_dir=Path(tmp), progress=False)
        trainer.fit()
    timed = trainer.timings[WARMUP:]
    wait_share = sum(w for w, _ in timed) / sum(t for _, t in timed)
    return [t for _, t in timed], wait_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; EDSR-baseline x4, "
          f"batch 16, LR patch 48; medians of {args.iterations} iterations after {WARMUP}")
    bare = statistics.median(bare_loop(args.iterations))
    print("| run | s/iteration | speed-up vs bare (target >= 1.3x) | data wait (target < 5%) |")
    print("|---|---:|---:|---:|")
    print(f"| bare loop, contiguous float32 | {bare:.3f} | 1.00x | - |")
    for amp, label in ((False, "srlab Trainer, channels_last float32"),
                       (True, "srlab Trainer, channels_last + bf16 autocast (amp)")):
        times, wait = ours(args.iterations, amp, args.workers)
        mine = statistics.median(times)
        print(f"| {label} | {mine:.3f} | {bare / mine:.2f}x | {100 * wait:.2f}% |")


if __name__ == "__main__":
    main()
