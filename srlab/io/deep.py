"""Exact decoding of 16-bit colour PNG and TIFF files, which Pillow truncates to 8 bits.

Pillow has no 16-bit colour mode: it opens such files as 8-bit "RGB"/"RGBA" and
keeps only the high byte of every sample. Decoding the same file a second time with
the opposite byte order named in the tile's raw mode makes Pillow's own C decoders
(PNG filters and interlacing, every compression libtiff knows) deliver the low
bytes; the two passes combine exactly. 16-bit gray + alpha PNG ("LA;16B") is
decoded in one pass as four raw bytes per pixel.
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageFile

from srlab.io.opener import open_pillow

_TWO_PASS = frozenset(f"{mode};16{order}" for mode in ("RGB", "RGBA", "RGBX") for order in "BLN")
_ONE_PASS_AS_BYTES = {"LA;16B": "RGBA"}


def deep_rawmode(img: Image.Image) -> str | None:
    """The raw mode of a not-yet-loaded 16-bit colour image Pillow would truncate, else None."""
    rawmodes = {_rawmode(tile[3]) for tile in getattr(img, "tile", None) or ()}
    if len(rawmodes) != 1:
        return None
    rawmode = rawmodes.pop()
    return rawmode if rawmode in _TWO_PASS or rawmode in _ONE_PASS_AS_BYTES else None


def deep_channels(img: Image.Image, rawmode: str) -> int:
    """Samples per pixel decode_deep returns for ``img`` (see deep_rawmode)."""
    return 2 if rawmode in _ONE_PASS_AS_BYTES else len(img.getbands())


def decode_deep(img: ImageFile.ImageFile, rawmode: str) -> tuple[np.ndarray, Image.Image]:
    """Decode ``img`` (see deep_rawmode) exactly from its file.

    Returns uint16 samples H x W x C (C = 2 gray + alpha, 3 RGB, 4 RGBA) and a loaded
    Pillow image of the same frame, for reading metadata. ``img`` itself is not loaded.
    """
    if rawmode in _ONE_PASS_AS_BYTES:
        loaded = _decode_as(img, _ONE_PASS_AS_BYTES[rawmode])
        octets = np.asarray(loaded)
        return _combine(octets[:, :, 0::2], octets[:, :, 1::2]), loaded
    high = np.asarray(_decode_as(img, rawmode))
    loaded = _decode_as(img, _low_byte_rawmode(rawmode))
    return _combine(high, np.asarray(loaded)), loaded


def _combine(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """16-bit samples from their high and low bytes, shifted and merged in place (no
    temporaries the size of the result, which would raise read_image's peak memory)."""
    samples = high.astype(np.uint16)
    samples <<= 8
    samples |= low
    return samples


def _decode_as(img: ImageFile.ImageFile, rawmode: str) -> Image.Image:
    """Decode a fresh copy of ``img``'s current frame, unpacking with ``rawmode``."""
    fresh = open_pillow(img.fp, formats=(img.format,))
    fresh.seek(img.tell())
    # Tiles are (codec, extents, offset, args); older Pillows keep them as plain tuples.
    fresh.tile = [
        ImageFile._Tile(*tile[:3], _with_rawmode(tile[3], rawmode)) for tile in fresh.tile
    ]
    fresh.load()
    return fresh


def _rawmode(args: object) -> str | None:
    """The raw mode in a tile's decoder arguments (a str for PNG, a tuple for TIFF)."""
    if isinstance(args, tuple) and args:
        args = args[0]
    return args if isinstance(args, str) else None


def _with_rawmode(args: object, rawmode: str) -> object:
    return (rawmode, *args[1:]) if isinstance(args, tuple) else rawmode


def _low_byte_rawmode(rawmode: str) -> str:
    """Raw mode whose unpacker picks the low byte of each sample, e.g. RGB;16B -> RGB;16L."""
    order = rawmode[-1]
    if order == "N":
        order = "L" if sys.byteorder == "little" else "B"
    return rawmode[:-1] + ("B" if order == "L" else "L")
