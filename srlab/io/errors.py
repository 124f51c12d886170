"""Errors raised by srlab.io: one line each, naming the file and the reason.

The CLI prints ``str(err)`` to users, so every message must be a single readable
line; the original exception stays available as ``__cause__``.

    FileError                       any file srlab.io could not read or write
    ├── ImageError                  an image file
    │   ├── ImageReadError          missing, corrupt, truncated, unsupported, too large
    │   └── ImageWriteError         an image could not be written (also an OutputWriteError)
    └── OutputWriteError (OSError)  any output file (image, CSV, YAML, weights, ...) not written
        └── OutputExistsError       the output exists and overwriting was not asked for
                                    (also a FileExistsError)
"""

from __future__ import annotations

from pathlib import Path


class FileError(Exception):
    """Base class: a file could not be read or written; ``str`` is one line."""

    verb = "process"

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = " ".join(str(reason).split())
        super().__init__(str(self))

    def __str__(self) -> str:
        where = "in-memory image" if self.path is None else str(self.path).replace("\n", "\\n")
        return f"cannot {self.verb} {where}: {self.reason}"

    def __reduce__(self) -> tuple[type[FileError], tuple[Path | None, str]]:
        """Pickle with (path, reason) so errors survive worker processes."""
        return type(self), (self.path, self.reason)


class ImageError(FileError):
    """An image file could not be read or written."""


class ImageReadError(ImageError):
    """The file is missing, unreadable, corrupt, truncated, unsupported or too large."""

    verb = "read"


class OutputWriteError(FileError, OSError):
    """A file of any kind could not be created (raised by atomic_write); an OSError."""

    verb = "write"


class ImageWriteError(ImageError, OutputWriteError):
    """An image could not be written to the requested path."""

    verb = "write"


class OutputExistsError(OutputWriteError, FileExistsError):
    """The output file already exists and overwriting was not requested."""
