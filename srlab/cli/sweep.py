"""`srlab sweep`: a noise-driven model's perception–distortion curve on a folder of photos."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from srlab.cli.evaluate import add_scoring_options, load_lpips
from srlab.cli.model_options import add_model_options, model_options
from srlab.cli.upscale import MAX_EXIT_FAILURES
from srlab.evaluation.benchmark import EvalError
from srlab.evaluation.sweep import format_markdown, parse_noises, sweep, write_csv, write_plot
from srlab.io import atomic_write

OUTPUTS = ("sweep.md", "sweep.csv", "sweep.png")


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "sweep",
        help="score a noise-driven model over noise amplitudes W (perception vs distortion)",
        description=(
            "Degrade every HR image in DIR once, upscale it at every noise amplitude W and "
            "score the results (PSNR-Y, SSIM-Y, NIQE, LPIPS with --lpips-weights). Writes "
            f"{', '.join(OUTPUTS)} (table and perception-distortion plot) into OUT and prints "
            "the table. An image that cannot be read is named in one line and left out; the "
            "exit code is the number of such images (0 = all good, capped at 125; 255 = usage "
            "error)."
        ),
    )
    p.add_argument("--model", default="default",
                   help="catalogue name or model file with a noise input (default: gmgbp-r3)")
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="folder of HR images, walked recursively")
    p.add_argument("--noise", required=True, metavar="LIST", dest="noises",
                   help="amplitudes: '0,0.1,1' or a progression '0,0.01,...,1'")
    p.add_argument("--scale", type=int, default=4, help="upscaling factor (default: 4)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                   help="folder for the table and plot")
    p.add_argument("--no-niqe", action="store_true", help="skip NIQE (the slowest score)")
    add_model_options(p, seed_help="seed of random degradations and model noise", noise=False)
    add_scoring_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    noises = parse_noises(args.noises)
    options = model_options(args)
    targets = [args.output / name for name in OUTPUTS]
    if not args.overwrite and any(os.path.lexists(t) for t in targets):
        raise EvalError(f"{args.output} already holds sweep results (use --overwrite)")
    lpips = load_lpips(args.lpips_weights, args.device) if args.lpips_weights else None
    report = sweep(
        args.model,
        args.data,
        args.scale,
        noises,
        options=options,
        niqe=not args.no_niqe,
        lpips=lpips,
        max_images=args.max_images,
        progress=lambda ws: tqdm(ws, unit="W", desc="noise levels", disable=None),
        report=lambda message: tqdm.write(message, file=sys.stderr),
    )
    table, csv_path, plot = targets
    text = format_markdown(report)
    print(text, end="")
    table.parent.mkdir(parents=True, exist_ok=True)
    write_csv(report, csv_path, args.overwrite)
    write_plot(report, plot, args.overwrite)
    atomic_write(table, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 overwrite=args.overwrite)
    print(f"srlab sweep: wrote {', '.join(str(t) for t in targets)}", file=sys.stderr)
    return min(len(report.failed), MAX_EXIT_FAILURES)
