"""argparse types that check values when the command line is parsed.

A bad value is a usage error (exit 255, one line naming the option) before any work, instead of
a failure of every image. Each type's message says what is allowed.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from srlab.infer.memory import parse_size


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An integer from `low` to `high`."""

    def convert(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range {low}..{high}")
        return value

    return convert


def finite_number(low: float, high: float, *, above_low: bool = False) -> Callable[[str], float]:
    """A finite number from `low` (excluded when `above_low`) to `high`."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if value < low or (above_low and value == low) or value > high:
            lower = f"above {low:g}" if above_low else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text} must be {lower} and at most {high:g}")
        return value

    return convert


def tile_size(high: int) -> Callable[[str], int | None]:
    """"auto" (None: the model's tile, smaller when memory is short) or 0..high pixels."""
    number = whole_number(0, high)

    def convert(text: str) -> int | None:
        return None if text.strip().lower() == "auto" else number(text)

    return convert


def memory_size(text: str) -> int:
    """Bytes from a size such as 4G, 512M or 1.5G."""
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def name_suffix(text: str) -> str:
    """Text added to output names ("" for none): no folder separators or control characters."""
    if any(c in "/\\\0" or not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a suffix is text without '/', '\\' or control characters"
        )
    return text
