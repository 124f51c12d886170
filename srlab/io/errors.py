"""Errors raised by srlab.io: one line each, naming the file and the reason.

The CLI prints ``str(err)`` to photographers, so every message must be a single
readable line; the original exception stays available as ``__cause__``.
"""

from __future__ import annotations

from pathlib import Path


class ImageError(Exception):
    """Base class: an image file could not be read or written."""

    verb = "process"

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = " ".join(str(reason).split())
        super().__init__(str(self))

    def __str__(self) -> str:
        where = "in-memory image" if self.path is None else str(self.path).replace("\n", "\\n")
        return f"cannot {self.verb} {where}: {self.reason}"

    def __reduce__(self) -> tuple[type[ImageError], tuple[Path | None, str]]:
        """Pickle with (path, reason) so errors survive worker processes."""
        return type(self), (self.path, self.reason)


class ImageReadError(ImageError):
    """The file is missing, unreadable, corrupt, unsupported or too large."""

    verb = "read"


class ImageWriteError(ImageError):
    """The image could not be written to the requested path."""

    verb = "write"


class OutputExistsError(ImageWriteError, FileExistsError):
    """The output file already exists and overwriting was not requested."""
