"""`srlab train CONFIG`: run (or resume) a training run described by a YAML config."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from srlab.config import load_config
from srlab.train.schema import ExperimentConfig


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "train",
        help="train a network from a YAML config",
        description=(
            "Train from a YAML config (see configs/). A run directory that already holds a "
            "checkpoint is resumed exactly where it stopped (a damaged newest checkpoint falls "
            "back to the previous one, with a warning). Ctrl-C or SIGTERM (kill, a scheduler's "
            "preemption) saves a checkpoint first. One trainer per run directory: a lock file "
            "stops a second one. Exit code 0 = done, 130 = interrupted, 255 = bad config, data "
            "or run directory (a one-line error naming the key or path). Multi-process: "
            "torchrun --nproc_per_node N -m srlab.cli.main train CONFIG."
        ),
    )
    p.add_argument("config", type=Path, help="YAML config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value by dotted path, e.g. train.iterations=500")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="run directory (default: OUTPUT_ROOT/NAME from the config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from srlab.train.trainer import Trainer  # heavy imports only for this command

    if not args.config.is_file():
        raise ValueError(f"{args.config}: no such config file")
    cfg = load_config(ExperimentConfig, args.config, args.overrides)
    with _sigterm_as_interrupt():
        trainer = Trainer(cfg, run_dir=args.run_dir, progress=not args.quiet)
        scores = trainer.fit()
    if scores is not None and trainer.ctx.is_main:
        print(f"final validation: PSNR-Y {scores.psnr_y:.3f} dB, SSIM-Y {scores.ssim_y:.4f}")
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while training, so the trainer saves a checkpoint and releases
    its run directory before it exits. (Background jobs started from scripts ignore SIGINT, so
    SIGTERM is how they are stopped.) The previous handler comes back afterwards."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
