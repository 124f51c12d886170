"""`srlab upscale`: enlarge photos with a model, safely and in bulk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from srlab.infer.batch import InputError, Job, collect_jobs, run_batch
from srlab.infer.options import DEFAULT_OVERLAP, DEFAULT_SEED, UpscaleOptions
from srlab.infer.upscaler import Upscaler
from srlab.io import DEFAULT_MAX_PIXELS
from srlab.zoo import ModelLoadError, load_model

USAGE_ERRORS = (InputError, ModelLoadError, ValueError, FileExistsError)
MAX_EXIT_FAILURES = 125


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "upscale",
        help="upscale images, folders or globs",
        description=(
            "Upscale images. Folders are walked recursively and their structure is kept under "
            "OUT. Existing outputs are skipped unless --overwrite. The exit code is the number "
            "of images that failed (0 = all good, capped at 125; 255 = usage error)."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or globs")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                   help="output folder (or output file for a single input image)")
    p.add_argument("--model", default="default",
                   help="catalogue name or model file (default: %(default)s = gmgbp-r3)")
    p.add_argument("--scale", type=int, default=None,
                   help="upscaling factor (default: the model's own)")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size in input pixels; 0 = whole image at once "
                        "(default: the model's, e.g. 256 for gmgbp at x4, 512 for bicubic)")
    p.add_argument("--tile-overlap", type=int, default=DEFAULT_OVERLAP,
                   help="context around each tile in input pixels, at least the model's "
                        "receptive radius (default: %(default)s)")
    p.add_argument("--ensemble", action="store_true", help="x8 self-ensemble (8x slower)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    p.add_argument("--half", action=argparse.BooleanOptionalAction, default=None,
                   help="16-bit floats: float16 on CUDA, bfloat16 on CPUs that support it "
                        "natively; --no-half forces float32 (default: bfloat16 for models "
                        "measured to lose nothing by it, such as gmgbp, where the CPU has it)")
    p.add_argument("--noise", type=float, default=None, metavar="W",
                   help="noise amplitude of models with a noise input (gmgbp: 0 = faithful, "
                        "the default; up to 1 = sharper, invented texture)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="seed of the noise drawn for each image (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="refuse inputs with more pixels than this (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = UpscaleOptions(
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        ensemble=args.ensemble,
        device=args.device,
        half=args.half,
        noise=args.noise,
        seed=args.seed,
    )
    jobs = collect_jobs(args.inputs, args.output)
    model = load_model(args.model, scale=args.scale)
    upscaler = Upscaler(model, options)
    disable = args.quiet or None  # None: tqdm hides itself when stderr is not a terminal
    with (
        tqdm(total=len(jobs), unit="img", desc="images", disable=disable) as images,
        tqdm(unit="tile", desc="tiles", leave=False, disable=disable) as tiles,
    ):
        def on_start(job: Job) -> None:
            images.set_postfix_str(job.source.name)
            tiles.reset()

        result = run_batch(
            jobs,
            upscaler,
            overwrite=args.overwrite,
            max_pixels=args.max_pixels,
            report=lambda message: tqdm.write(message, file=sys.stderr),
            on_tile=tiles.update,
            on_start=on_start,
            on_done=lambda job: images.update(),
        )
    print(
        f"srlab upscale: {len(result.written)} written, {len(result.skipped)} skipped, "
        f"{len(result.failed)} failed (model {model.name}, x{model.scale})",
        file=sys.stderr,
    )
    return min(len(result.failed), MAX_EXIT_FAILURES)
