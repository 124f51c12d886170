"""The `srlab` command: a thin dispatcher over the library's subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from srlab import __version__
from srlab.cli import evaluate, export, models, record, sampler_stats, serve, sweep, train, upscale

USAGE_ERROR = 255


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on a distinct exit code, since 1..125 count failed files."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


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
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("srlab: interrupted; outputs already written are complete", file=sys.stderr)
        return 130
    except upscale.USAGE_ERRORS as err:
        print(f"srlab: error: {err}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
