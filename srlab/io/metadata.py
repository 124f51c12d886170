"""Photographers' metadata: EXIF orientation and ICC colour profiles.

Pixels are stored upright, so the EXIF orientation is applied on read and removed
from the EXIF block that is written back; an ICC profile is kept only where it
describes the pixels (a CMYK profile on converted RGB data would shift colours).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

ORIENTATION_TAG = 0x0112

# EXIF orientation value -> transform of an H x W (x C) array that makes it upright.
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: a[::-1].swapaxes(0, 1),  # needs 90 degrees clockwise
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transversed
    8: lambda a: a[:, ::-1].swapaxes(0, 1),  # needs 90 degrees counter-clockwise
}


def apply_orientation(pixels: np.ndarray, orientation: object) -> np.ndarray:
    """Return ``pixels`` made upright for an EXIF orientation; invalid values are ignored."""
    transform = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return pixels if transform is None else transform(pixels)


def exif_without_orientation(exif: bytes) -> bytes:
    """The EXIF block minus its (now stale) orientation tag; unchanged if it has none."""
    parsed = Image.Exif()
    parsed.load(exif)
    if ORIENTATION_TAG not in parsed:
        return exif
    del parsed[ORIENTATION_TAG]
    return parsed.tobytes()


def icc_fits(profile: bytes | None, *, gray: bool) -> bool:
    """Whether an ICC profile describes gray (or RGB) pixels, from its header."""
    if profile is None or len(profile) < 20:
        return False
    space = profile[16:20].decode("ascii", "replace").strip()
    return space == ("GRAY" if gray else "RGB")
