"""Images per minute of `srlab upscale` run three ways on the same folder and the same cores:
one process, two `--shard` processes at once, and `--ray` with two actors; Ray's fixed start-up
cost; and what N machines would take for a large job, from the measured time per pixel.

Every run is a fresh `srlab upscale` process, timed from start to exit (start-up and model
loading included); the fixed cost of each way is the fastest of three runs on a folder of four
8x8 images. Shards and actors get one PyTorch thread each, the single process all cores. The
ways take turns for `--rounds` rounds and the fastest round of each counts (the least
disturbed by other work on a shared machine). The CPU time of the
plain processes (not Ray's, whose workers are not our children) gives a load-independent
time per image (the smaller of the two plain ways: one OpenMP thread per process does not
spin), the one the projection uses. The outputs of the three ways are compared byte
for byte.

    .venv/bin/python bench/scaleout.py [--images 8] [--size 128x96] [--rounds 2]
        [--model default] [--scale 4] [--photos 100000] [--megapixels 12]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

SRLAB = [sys.executable, "-m", "srlab.cli.main", "upscale"]
FIXED_REPEATS = 3  # start-up runs are short: the fastest of a few is the least disturbed


def make_folder(folder: Path, count: int, width: int, height: int) -> Path:
    """`count` photo-like images: smooth random colour fields with fine noise."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        coarse = rng.random((height // 8 + 1, width // 8 + 1, 3))
        smooth = np.kron(coarse, np.ones((8, 8, 1)))[:height, :width]
        image = np.clip(smooth + rng.normal(0, 0.03, smooth.shape), 0, 1) * 255
        Image.fromarray(image.astype(np.uint8)).save(folder / f"photo{i:03d}.png")
    return folder


def timed(commands: list[list[str]], threads: int | None) -> tuple[float, float]:
    """(wall, CPU) seconds from starting all commands at once until the last one exits; CPU is
    user + system time of those processes (and of their children they waited for)."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stderr=subprocess.PIPE, text=True) for c in commands]
    for proc, command in zip(procs, commands, strict=True):
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{err}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def keep_fastest(runs: dict[str, tuple[float, float]], kind: str, measured: tuple) -> None:
    if kind not in runs or measured[0] < runs[kind][0]:
        runs[kind] = measured


def ray_init_seconds() -> float:
    """`ray.init` of a private 2-CPU cluster alone, in a fresh process."""
    code = ("import logging, time, ray; t = time.perf_counter(); "
            "ray.init(address='local', num_cpus=2, include_dashboard=False, "
            "logging_level=logging.ERROR); print(time.perf_counter() - t); ray.shutdown()")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    return float(out.split()[-1])


def ways(folder: Path, out: Path, common: list[str], cores: int) -> dict[str, tuple]:
    """name -> (commands, threads per process)."""
    one = [*SRLAB, str(folder), "-o", str(out / "one"), *common]
    shards = [[*SRLAB, str(folder), "-o", str(out / "shards"), *common, "--shard", f"{i}/2"]
              for i in (1, 2)]
    ray = [*SRLAB, str(folder), "-o", str(out / "ray"), *common, "--ray", "--ray-actors", "2"]
    return {
        "1 process": ([one], None),
        "--shard x2 (2 processes)": (shards, max(1, cores // 2)),
        "--ray, 2 actors": ([ray], None),  # Ray gives each 1-CPU actor one thread
    }


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", default="128x96", help="WxH of each input")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="default")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--photos", type=int, default=100_000, help="workload to project")
    parser.add_argument("--megapixels", type=float, default=12.0, help="size of those photos")
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    cores = os.cpu_count() or 1
    common = ["--model", args.model, "--scale", str(args.scale), "--quiet"]
    print(f"{cores} cores; load average at start {os.getloadavg()[0]:.1f} (other work on the "
          f"machine slows every figure); {args.images} images {width}x{height}, model "
          f"{args.model} x{args.scale}, best of {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root / "in", args.images, width, height)
        tiny = make_folder(root / "tiny", 4, 8, 8)
        best: dict[str, dict[str, tuple[float, float]]] = {}
        for round_ in range(args.rounds):
            out = root / f"out{round_}"
            for name, (commands, threads) in ways(folder, out, common, cores).items():
                runs = best.setdefault(name, {})
                for repeat in range(FIXED_REPEATS):
                    fixed_out = str(root / f"fixed{round_}-{repeat}")
                    tiny_commands = [[a.replace(str(folder), str(tiny)).replace(str(out), fixed_out)
                                      for a in c] for c in commands]
                    keep_fastest(runs, "fixed", timed(tiny_commands, threads))
                keep_fastest(runs, "wall", timed(commands, threads))
        print("\n| way | wall (s) | images/min | fixed cost (s) | CPU s/image |")
        print("|---|---:|---:|---:|---:|")
        per_image_cpu = {}
        for name, runs in best.items():
            (wall, cpu), (fixed, fixed_cpu) = runs["wall"], runs["fixed"]
            per_image_cpu[name] = (cpu - fixed_cpu) / args.images
            cpu_text = "—" if "ray" in name else f"{per_image_cpu[name]:.2f}"
            print(f"| {name} | {wall:.1f} | {60 * args.images / wall:.1f} | {fixed:.1f} | "
                  f"{cpu_text} |")
        outputs = [files(root / "out0" / d) for d in ("one", "shards", "ray")]
        same = all(o == outputs[0] for o in outputs) and len(outputs[0]) == args.images
        print(f"\noutputs of the three ways identical byte for byte: {same}")
        ray_fixed = best["--ray, 2 actors"]["fixed"][0] - best["1 process"]["fixed"][0]
        print(f"Ray's fixed cost beyond a plain process (private 2-CPU cluster, 2 actors "
              f"receiving the model): {ray_fixed:.1f} s; ray.init alone: "
              f"{ray_init_seconds():.1f} s")
        plain = [per_image_cpu[name] for name in best if "ray" not in name]
        project(min(plain) / cores, width * height, cores, args)


def project(seconds: float, pixels: int, cores: int, args: argparse.Namespace) -> None:
    """Machine-hours for the stated workload from ``seconds`` per image of ``pixels`` on an
    idle machine (CPU time / cores, i.e. all cores busy with this work).

    Assumes time grows with input pixels (tiling makes it so) and adds the overlap tiles of
    the model's default geometry re-compute around each tile."""
    from srlab.infer.options import UpscaleOptions
    from srlab.infer.upscaler import tile_geometry
    from srlab.zoo import load_model

    model = load_model(args.model, scale=args.scale)
    tile, overlap = tile_geometry(model, UpscaleOptions())
    overhead = ((tile + 2 * overlap) / tile) ** 2 if tile else 1.0
    photo_s = seconds / pixels * args.megapixels * 1e6 * overhead
    total_h = photo_s * args.photos / 3600
    print(f"\nProjection: {args.photos:,} photos of {args.megapixels:g} MP at x{args.scale} with "
          f"{model.name} (tile {tile}, overlap {overlap}: x{overhead:.2f} recomputed), from "
          f"{seconds:.2f} s per {pixels:,}-pixel image with all {cores} cores")
    print(f"  one idle {cores}-core machine like this one: {photo_s / 60:.1f} min per photo, "
          f"{total_h:,.0f} machine-hours in all")
    for machines in (1, 10, 100, 1000):
        print(f"  {machines:>5} such machines (--shard I/{machines}, or Ray actors on them): "
              f"{total_h / machines / 24:,.1f} days")


if __name__ == "__main__":
    main()
