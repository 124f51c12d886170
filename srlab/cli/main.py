"""The `srlab` command: a thin dispatcher over the library's subcommands.

Exit codes beyond each command's own: 255 for a usage error or a file the command cannot read
or write outside its per-image handling (one line naming it), 130 for Ctrl-C
(SIGINT), 143 for SIGTERM and 129 for SIGHUP. A signal ends the command like Ctrl-C does: the
file being written is abandoned (its temporary file removed), those already written stay.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from srlab import __version__
from srlab.cli import evaluate, export, models, record, sampler_stats, serve, sweep, train, upscale
from srlab.infer.batch import printable
from srlab.io import FileError

USAGE_ERROR = 255
INTERRUPTED = 130  # 128 + SIGINT
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors `main` reports on one line with a distinct exit code (1..125
    count failed files); `--help` shows the usage."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.removeprefix("srlab").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{' '.join(message.split())} (see {self.prog} --help)")


class UsageError(Exception):
    """A command line argparse refused; the message is one line."""


class Stopped(BaseException):
    """The process received SIGTERM or SIGHUP; raised like KeyboardInterrupt is for SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="srlab", description="Single-image super-resolution toolkit.")
    parser.add_argument("--version", action="version", version=f"srlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    upscale.add_parser(commands)
    models.add_parser(commands)
    train.add_parser(commands)
    evaluate.add_parser(commands)
    sweep.add_parser(commands)
    export.add_parser(commands)
    record.add_parser(commands)
    sampler_stats.add_parser(commands)
    serve.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(f"srlab: error: {printable(err)}", file=sys.stderr)
        return USAGE_ERROR
    try:
        with _stop_signals_raise():
            return args.run(args)
    except KeyboardInterrupt:
        print("srlab: interrupted; outputs already written are complete", file=sys.stderr)
        return INTERRUPTED
    except Stopped as stop:
        name = signal.Signals(stop.signum).name
        print(f"srlab: stopped by {name}; outputs already written are complete", file=sys.stderr)
        return 128 + stop.signum
    except (*upscale.USAGE_ERRORS, FileError, OSError) as err:
        print(f"srlab: error: {printable(err)}", file=sys.stderr)
        return USAGE_ERROR


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise `Stopped` in the main thread, so that
    `finally` blocks (temporary files, locks) run; repeats are ignored while it unwinds. The
    previous handlers come back afterwards. (Commands may install their own inside.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
