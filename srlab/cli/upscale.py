"""`srlab upscale`: enlarge photos with a model, safely and in bulk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from srlab.cli import scale_out
from srlab.cli.arg_types import finite_number, memory_size, name_suffix, whole_number
from srlab.cli.model_options import add_model_options, model_options
from srlab.infer.batch import (
    DEFAULT_QUALITY,
    FORMAT_SUFFIXES,
    InputError,
    Job,
    collect_jobs,
    printable,
)
from srlab.infer.sizing import MAX_SIDE, OutputSize, SizedUpscaler
from srlab.io import DEFAULT_MAX_PIXELS, remove_stale_temp_files
from srlab.zoo import ModelLoadError

USAGE_ERRORS = (InputError, ModelLoadError, ValueError, FileExistsError)
MAX_EXIT_FAILURES = 125
MAX_SCALE = 64.0
FORMAT_ALIASES = {"jpeg": "jpg", "tif": "tiff"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "upscale",
        help="upscale images, folders or globs",
        description=(
            "Upscale images. Folders are walked recursively and their structure is kept under "
            "OUT. Existing outputs are skipped unless --overwrite; inputs are never written. "
            "The exit code is the number of images that failed (0 = all good, capped at 125; "
            "255 = usage error; 130, 143, 129 = stopped by SIGINT, SIGTERM, SIGHUP)."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or globs")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                   help="output folder (or output file for a single input image)")
    p.add_argument("--model", default="default",
                   help="catalogue name or model file (default: %(default)s = gmgbp-r3)")
    p.add_argument("--scale", type=finite_number(0, MAX_SCALE, above_low=True), default=None,
                   help="enlargement factor, e.g. 4 or 2.5: the model runs at the smallest "
                        "scale it has that reaches it, MATLAB bicubic shrinks the rest "
                        "(default: the model's own)")
    p.add_argument("--width", type=whole_number(1, MAX_SIDE), default=None, metavar="PX",
                   help="output width (the height keeps the aspect ratio unless --height)")
    p.add_argument("--height", type=whole_number(1, MAX_SIDE), default=None, metavar="PX",
                   help="output height (the width keeps the aspect ratio unless --width)")
    p.add_argument("--format", type=str.lower, default=None,
                   choices=[*FORMAT_SUFFIXES, *FORMAT_ALIASES],
                   help="output format (default: the input's)")
    p.add_argument("--quality", type=whole_number(1, 100), default=DEFAULT_QUALITY,
                   help="JPEG and WebP quality, 1..100; WebP 100 is lossless "
                        "(default: %(default)s)")
    p.add_argument("--suffix", type=name_suffix, default="",
                   help="added to output names, e.g. _x4 for photo_x4.png (lets OUT be the "
                        "input folder)")
    add_model_options(p, seed_help="seed of the noise drawn for each image")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--max-pixels", type=whole_number(1, 2**62), default=DEFAULT_MAX_PIXELS,
                   help="refuse inputs with more pixels than this (default: %(default)s)")
    p.add_argument("--max-memory", type=memory_size, default=None, metavar="SIZE",
                   help="memory a job may take, e.g. 4G or 512M, checked from the file's "
                        "header before any work; too large a job is refused in one line "
                        "(default: what srlab holds plus 80%% of the memory available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    scale_out.add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = model_options(args)
    size = OutputSize(scale=args.scale, width=args.width, height=args.height)
    output_format = FORMAT_ALIASES.get(args.format, args.format)
    jobs = collect_jobs(args.inputs, args.output, suffix=args.suffix, output_format=output_format)
    jobs = scale_out.this_shard(jobs, args)
    upscaler = SizedUpscaler(args.model, options, size)
    if scale_out.on_one_machine(args):
        _remove_stale_temp_files(args.output)
    disable = args.quiet or None  # None: tqdm hides itself when stderr is not a terminal
    with (
        tqdm(total=len(jobs), unit="img", desc="images", disable=disable) as images,
        tqdm(unit="tile", desc="tiles", leave=False, disable=disable) as tiles,
    ):
        def on_start(job: Job) -> None:
            images.set_postfix_str(printable(job.source.name))
            tiles.reset()

        result = scale_out.batch_runner(args)(
            jobs,
            upscaler,
            overwrite=args.overwrite,
            max_pixels=args.max_pixels,
            size=size,
            max_memory="auto" if args.max_memory is None else args.max_memory,
            quality=args.quality,
            report=lambda message: tqdm.write(message, file=sys.stderr),
            on_tile=tiles.update,
            on_start=on_start,
            on_done=lambda job: images.update(),
        )
    print(
        f"srlab upscale: {len(result.written)} written, {len(result.skipped)} skipped, "
        f"{len(result.failed)} failed ({printable(upscaler.describe())})",
        file=sys.stderr,
    )
    return min(len(result.failed), MAX_EXIT_FAILURES)


def _remove_stale_temp_files(out: Path) -> None:
    """Delete the temporary files a killed earlier run left in OUT (beside a named output
    file: in its folder only)."""
    if out.is_dir():
        removed = remove_stale_temp_files(out)
    elif out.parent.is_dir():
        removed = remove_stale_temp_files(out.parent, recursive=False)
    else:
        return
    if removed:
        where = printable(out if out.is_dir() else out.parent)
        print(f"srlab upscale: removed {len(removed)} temporary file(s) an interrupted run "
              f"left in {where}", file=sys.stderr)
