"""The one folder walker of srlab: which files of a folder are its images.

Training data (`srlab.data`), evaluation (`srlab eval`, `srlab sweep`) and batch upscaling
(`srlab upscale DIR`) all list a folder with :func:`find_images`, so they agree on what counts.
"""

from __future__ import annotations

from pathlib import Path

from srlab.io.write import SUPPORTED_SUFFIXES


def find_images(folder: str | Path) -> list[Path]:
    """The image files under ``folder`` at any depth, sorted by their path relative to it.

    - Images: names ending in one of ``SUPPORTED_SUFFIXES``, in any case (``.PNG`` counts).
    - Hidden entries are skipped: a file whose name starts with a dot, and everything inside a
      folder whose name starts with a dot (``.git``, ``.thumbnails``, macOS ``._x.png``). Only
      names below ``folder`` are checked, so a hidden folder given on purpose is walked.
    - Order: part by part (a folder's files come where its name sorts), byte order of the
      names, so "B.png" comes before "a.png".
    - Links to files count; links to folders are not entered (no cycles).

    Raises FileNotFoundError naming ``folder`` when it is not an existing folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    found = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if (
            path.suffix.lower() in SUPPORTED_SUFFIXES
            and not any(part.startswith(".") for part in parts)
            and path.is_file()
        ):
            found.append((parts, path))
    return [path for _, path in sorted(found)]
