"""One-line messages from exceptions, for the trainer's errors and warnings."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (some libraries write paragraphs), or its type name."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
