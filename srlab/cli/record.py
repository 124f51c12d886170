"""`srlab record RUN_DIR`: a run's training record (summary, validation history, loss curves and
the resolved config) gathered into one folder for a model's documentation."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from srlab.io import atomic_write
from srlab.train.logbook import CONFIG_FILE, METRICS_FILE
from srlab.train.record import format_markdown, read_record, write_curves

OUTPUTS = ("record.md", "curves.png", CONFIG_FILE, METRICS_FILE)


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "record",
        help="gather a training run's record (iterations, wall time, hardware, curves)",
        description=(
            "Read RUN_DIR (finished or still running) and write "
            f"{', '.join(OUTPUTS)} into OUT: the summary and validation history, the loss and "
            "validation curves, and copies of the resolved config and the metrics log. Prints "
            "the summary."
        ),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a `srlab train` run directory")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                   help="folder for the record")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    targets = [args.output / name for name in OUTPUTS]
    if not args.overwrite and any(os.path.lexists(t) for t in targets):
        raise FileExistsError(f"{args.output} already holds a record (use --overwrite)")
    record = read_record(args.run_dir)
    text = format_markdown(record)
    print(text, end="")
    summary, curves, config, metrics = targets
    args.output.mkdir(parents=True, exist_ok=True)
    atomic_write(summary, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                 overwrite=args.overwrite)
    write_curves(record, curves, overwrite=args.overwrite)
    for source, target in ((args.run_dir / CONFIG_FILE, config),
                           (args.run_dir / METRICS_FILE, metrics)):
        if source.is_file():
            atomic_write(target, lambda tmp, s=source: shutil.copyfile(s, tmp),
                         overwrite=args.overwrite)
    print(f"srlab record: wrote {args.output}", file=sys.stderr)
    return 0
