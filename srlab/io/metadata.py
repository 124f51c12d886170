"""Photographers' metadata: EXIF orientation, EXIF blocks and ICC colour profiles.

Pixels are stored upright, so the EXIF orientation is applied on read and set to 1 in
the EXIF block that is written back; the rest of the block is kept byte for byte (maker
notes keep their offsets). A block that Pillow cannot parse without complaint is dropped.
An ICC profile is kept only where it describes the pixels (a CMYK profile on converted RGB
data would shift colours).
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image

ORIENTATION_TAG = 0x0112
EXIF_HEADER = b"Exif\x00\x00"  # how JPEG's APP1 segment (and srlab's DecodedImage) starts EXIF
_SUB_IFDS = (0x8769, 0x8825, 0xA005)  # Exif, GPS, Interoperability
_TIFF_BYTE_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}
_SHORT, _LONG = 3, 4

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


def swaps_sides(orientation: object) -> bool:
    """Whether making an image upright exchanges its width and height (orientations 5..8)."""
    return isinstance(orientation, int) and orientation in (5, 6, 7, 8)


def upright_exif(exif: bytes | None) -> bytes | None:
    """The EXIF block to write with upright pixels: orientation set to 1, the rest unchanged.

    Returned with the ``Exif\\0\\0`` header, whichever way the source stored it. None when
    there is no block, or when it is malformed (Pillow warns or fails on it, or its
    orientation entry is not a single number): broken metadata is not passed on.
    """
    if not exif:
        return None
    tiff = exif.removeprefix(EXIF_HEADER)
    if not _parses_cleanly(tiff):
        return None
    try:
        return EXIF_HEADER + _orientation_set_to_one(tiff)
    except (ValueError, struct.error):
        return None


def exif_orientation(exif: bytes | None) -> int | None:
    """The orientation (1..8) an EXIF block asks for; None if absent, invalid or unreadable."""
    if not exif:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = Image.Exif()
            parsed.load(exif.removeprefix(EXIF_HEADER))
            value = parsed.get(ORIENTATION_TAG)
        except Exception:  # EXIF is optional: broken metadata must not make a photo unreadable
            return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _parses_cleanly(tiff: bytes) -> bool:
    """Whether Pillow reads every directory of an EXIF block without error or warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = Image.Exif()
            parsed.load(tiff)
            if not parsed:
                return False
            for tag in _SUB_IFDS:
                parsed.get_ifd(tag)
            parsed.tobytes()
        except Exception:
            return False
    return not caught


def _orientation_set_to_one(tiff: bytes) -> bytes:
    """Patch the orientation entry of the first directory in place (ValueError if odd)."""
    order = _TIFF_BYTE_ORDERS.get(tiff[:4])
    if order is None:
        raise ValueError("not a TIFF-structured EXIF block")
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, values = struct.unpack_from(order + "HHI", tiff, entry)
        if tag != ORIENTATION_TAG:
            continue
        if values != 1 or kind not in (_SHORT, _LONG):
            raise ValueError("orientation entry is not a single number")
        patched = bytearray(tiff)
        struct.pack_into(order + ("H" if kind == _SHORT else "I"), patched, entry + 8, 1)
        return bytes(patched)
    return tiff


def icc_fits(profile: bytes | None, *, gray: bool) -> bool:
    """Whether an ICC profile describes gray (or RGB) pixels, from its header."""
    if profile is None or len(profile) < 20:
        return False
    space = profile[16:20].decode("ascii", "replace").strip()
    return space == ("GRAY" if gray else "RGB")
