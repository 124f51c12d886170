"""File names from clients, made safe: no folders, no hidden files, plain characters only.

A client's name is only ever a label: it is reduced to a harmless stem, and the server picks
the folder and the suffix (from the decoded format, not from the name).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 60
_SUFFIX_BY_FORMAT = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}


def safe_stem(client_name: str | None) -> str:
    """The last component of a client's file name without its suffix, reduced to
    [A-Za-z0-9._-], without leading dots, at most 60 characters; "image" when nothing is left."""
    name = unicodedata.normalize("NFKD", client_name or "")
    name = name.encode("ascii", "ignore").decode("ascii")
    name = re.split(r"[/\\]", name)[-1]
    stem = Path(name).stem if "." in name.lstrip(".") else name
    stem = _UNSAFE.sub("_", stem).strip("._-")
    return stem[:_MAX_STEM].rstrip("._-") or "image"


def suffix_for_format(image_format: str | None) -> str:
    """The file suffix srlab.io writes for a Pillow format name (PNG for unknown formats)."""
    return _SUFFIX_BY_FORMAT.get(image_format or "", ".png")


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """`folder/stem+suffix`, or with -2, -3, ... added when that name is taken.

    The writer still refuses to replace a file created meanwhile (atomic, no-clobber), so a
    race costs a retry, never an overwritten file.
    """
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate
