"""`srlab eval`: score a model against MATLAB bicubic on a folder of HR images."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from srlab.cli.model_options import add_model_options, model_options
from srlab.cli.upscale import MAX_EXIT_FAILURES
from srlab.evaluation.benchmark import (
    EvalError,
    evaluate,
    format_markdown,
    write_csv,
    write_markdown,
)
from srlab.io import ImageError
from srlab.metrics import LPIPS, LPIPSWeightsError
from srlab.ops.device import resolve_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "eval",
        help="benchmark a model on a folder of HR images",
        description=(
            "Degrade every HR image in DIR to LR (8 bit), upscale it with the model and with "
            "MATLAB bicubic, and score both against HR: PSNR-Y and SSIM-Y with a border of SCALE "
            "pixels cropped, optionally NIQE and LPIPS. Prints a Markdown table. The exit code "
            "is the number of images that failed (0 = all good, capped at 125; 255 = usage "
            "error)."
        ),
    )
    p.add_argument("--model", default="default",
                   help="catalogue name or .safetensors file (default: %(default)s)")
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="folder of HR images, walked recursively")
    p.add_argument("--scale", required=True, type=int, help="upscaling factor")
    p.add_argument("--degradation", default="BI",
                   help="HR -> LR model: BI, BD, DN, JPEG, realworld (seeded by --seed), or "
                        "SRResCycGAN's Table 1 variants noise8 (BI + noise std 8/255) and "
                        "jpeg30 (BI + JPEG q30) (default: %(default)s)")
    p.add_argument("--rgb", action="store_true",
                   help="add PSNR and SSIM on RGB with no border crop (SRResCycGAN's tables)")
    p.add_argument("--niqe", action="store_true", help="add NIQE (about 0.4 s per megapixel)")
    p.add_argument("--csv", type=Path, metavar="OUT.csv", help="also write the rows as CSV")
    p.add_argument("--markdown", type=Path, metavar="OUT.md", help="also write the table")
    add_model_options(p, seed_help="seed of random degradations and model noise")
    add_scoring_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing --csv/--markdown")
    p.set_defaults(run=run)


def add_scoring_options(p: argparse.ArgumentParser) -> None:
    """Scoring options shared by the commands that score a model on a folder (eval, sweep)."""
    p.add_argument("--lpips-weights", nargs="+", type=Path, metavar="FILE",
                   help="add LPIPS: one combined weights file, or backbone + heads files")
    p.add_argument("--max-images", type=int, default=None, metavar="K",
                   help="only the first K images (sorted by path)")


def run(args: argparse.Namespace) -> int:
    outputs = [path for path in (args.csv, args.markdown) if path is not None]
    if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():
        raise EvalError("--csv and --markdown name the same file")
    for path in outputs:
        if not args.overwrite and os.path.lexists(path):
            raise EvalError(f"{path} exists (use --overwrite to replace it)")
    options = model_options(args)
    lpips = load_lpips(args.lpips_weights, args.device) if args.lpips_weights else None
    report = evaluate(
        args.model,
        args.data,
        args.scale,
        degradation=args.degradation,
        options=options,
        niqe=args.niqe,
        lpips=lpips,
        rgb=args.rgb,
        max_images=args.max_images,
        report=lambda message: tqdm.write(message, file=sys.stderr),
        progress=lambda paths: tqdm(paths, unit="img", desc="images", disable=None),
    )
    print(format_markdown(report), end="")
    try:
        if args.csv is not None:
            write_csv(report, args.csv, args.overwrite)
        if args.markdown is not None:
            write_markdown(report, args.markdown, args.overwrite)
    except (ImageError, OSError) as err:  # the table is on stdout already
        raise EvalError(str(err)) from err
    return min(len(report.failed), MAX_EXIT_FAILURES)


def load_lpips(paths: list[Path], device: str) -> LPIPS:
    """LPIPS from the given files on ``device``; any weights problem becomes one usage line."""
    try:
        model = LPIPS.from_files(*paths)
    except (OSError, LPIPSWeightsError) as err:
        raise EvalError(" ".join(str(err).split())) from err
    return model.to(resolve_device(device))
