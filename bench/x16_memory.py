"""×16 on a 1020×678 photo (a 16320×10848 PNG): peak memory and time of `srlab upscale`'s path.

Writes a random 1020×678 RGB PNG, then upscales it to PNG with `run_batch` (the code `srlab
upscale` runs) in a fresh process, and prints the peak resident memory beside the sizes of the
whole output (float32 accumulator and 8-bit image) and of one band of tile rows, which is what
a PNG written in bands holds instead. The model is the shipped `fast-srfbn-srlab-x16` (the
authors' configuration: 64 features, T = 4, 6 IMDBs), another catalogue name or model file, or
an architecture built with random weights (`--arch ciplab --options '{...}'`: memory and time,
not quality, are measured, so no weights are needed). The same file runs against older srlab
trees (PYTHONPATH), which made the output whole before writing it.

    .venv/bin/python bench/x16_memory.py [--model NAME_OR_FILE] [--tile N] [--threads N]
    .venv/bin/python bench/x16_memory.py --arch ciplab \
        --options '{"scale": 16, "features": 32, "growth": 16, "blocks": 4}' --tile 32
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


def build_model(model: str, arch: str | None, options: dict):
    """The LoadedModel to run: a catalogue name or file, or `arch` built with random weights."""
    import torch

    from srlab.archs import ARCHITECTURES
    from srlab.zoo import LoadedModel, load_model

    if arch is None:
        return load_model(model)
    entry = ARCHITECTURES[arch]
    torch.manual_seed(0)
    module = entry.build(**options).eval()
    return LoadedModel(f"{arch} (random)", arch, options["scale"], module,
                       entry.spec_for(options), options)


def child(model_name: str, arch: str | None, options: dict, tile: int | None, threads: int) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from srlab.infer.batch import Job, run_batch
    from srlab.infer.upscaler import Upscaler

    if threads:
        torch.set_num_threads(threads)
    model = build_model(model_name, arch, options)
    upscaler = Upscaler(model, tile=tile, half=False)
    rgb = (np.random.default_rng(0).random((H, W, 3)) * 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "photo.png", Path(tmp) / "out.png"
        Image.fromarray(rgb).save(source)
        start = time.perf_counter()
        report = run_batch([Job(source, target)], upscaler, report=print)
        total = time.perf_counter() - start
        assert report.written == [target], report.failed
        size = target.stat().st_size
    print(json.dumps({
        "model": model.name, "tile": upscaler.tile, "context": upscaler.context,
        "total_s": total, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "png_mib": size / 2**20, "dtype": str(upscaler.dtype), "threads": torch.get_num_threads(),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fast-srfbn-srlab-x16",
                        help="catalogue name or model file (default: fast-srfbn-srlab-x16)")
    parser.add_argument("--arch", default=None,
                        help="build this architecture with random weights instead of --model")
    parser.add_argument("--options", default="{}", help="its build options, as JSON")
    parser.add_argument("--tile", type=int, default=None, help="LR tile (default: the model's)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args()
    options = json.loads(args.options)
    if args.arch is not None:
        options.setdefault("scale", SCALE)
    out_px = H * SCALE * W * SCALE
    print(f"input {W}x{H}, output {W * SCALE}x{H * SCALE}: float32 accumulator "
          f"{out_px * 12 / 2**20:.0f} MiB, 8-bit image {out_px * 3 / 2**20:.0f} MiB")
    command = [sys.executable, __file__, "--child", args.model, args.arch or "",
               json.dumps(options), str(args.tile or 0), str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr)
    r = json.loads(done.stdout.splitlines()[-1])
    band_rows = min(r["tile"] + 2 * r["context"], H) * SCALE if r["tile"] else H * SCALE
    print(f"{r['model']}, tile {r['tile']} ({r['dtype']}, {r['threads']} threads): upscaled and "
          f"written in {r['total_s']:.0f} s; peak RSS {r['peak_mib']:.0f} MiB; PNG "
          f"{r['png_mib']:.0f} MiB; one band of tile rows: {band_rows} rows, "
          f"{band_rows * W * SCALE * 12 / 2**20:.0f} MiB as float32")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        name, arch, options, tile, threads = sys.argv[2:7]
        child(name, arch or None, json.loads(options), int(tile) or None, int(threads))
    else:
        main()
