"""Is a PNG file's image data all there? Checked from its chunk headers, before decoding.

Walks the chunks (reading only their 8-byte headers and IHDR) and refuses a file that ends
inside a chunk or before its IEND chunk, has no IDAT data, or has less compressed data than
its size could ever compress to: deflate codes at most 258 bytes in 2 bits (a ratio of
1032 : 1, RFC 1951), so fewer IDAT bytes than the raw scanlines / 1032 cannot be complete.
This refuses a forged header (10000 x 10000 with a few bytes of data) before Pillow
allocates the image.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_DEFLATE_RATIO = 1032
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_MAX_CHUNK = 2**31 - 1


class PngDataError(ValueError):
    """The PNG's image data is missing or shorter than its header needs."""


def check_png(path: Path) -> None:
    """Walk the chunks of the PNG at ``path``; PngDataError if it is cut short or forged."""
    with path.open("rb") as fp:
        size = fp.seek(0, 2)
        fp.seek(0)
        if fp.read(8) != SIGNATURE:
            raise PngDataError("not a PNG file (bad signature)")
        pos, header, idat = 8, None, 0
        while True:
            fp.seek(pos)
            head = fp.read(8)
            if len(head) < 8:
                raise PngDataError("the file ends before the PNG end chunk IEND (truncated)")
            length, kind = struct.unpack(">I4s", head)
            end = pos + 12 + length
            if length > _MAX_CHUNK:
                raise PngDataError(f"corrupt PNG: chunk length {length:,} at byte {pos}")
            if end > size:
                name = kind.decode("latin-1")
                raise PngDataError(f"the file ends inside the PNG {name!r} chunk (truncated)")
            if kind == b"IHDR" and header is None:
                header = fp.read(13)
            elif kind == b"IDAT":
                idat += length
            elif kind == b"IEND":
                break
            pos = end
    if header is None or len(header) < 13:
        raise PngDataError("corrupt PNG: no IHDR header chunk")
    _check_idat_size(header, idat)


def _check_idat_size(header: bytes, idat: int) -> None:
    width, height, depth, colour_type = struct.unpack_from(">IIBB", header)
    if idat == 0:
        raise PngDataError("no image data (the PNG has no IDAT chunk)")
    bits_per_row = width * _SAMPLES.get(colour_type, 1) * depth
    raw = height * (1 + math.ceil(bits_per_row / 8))  # one filter byte per scanline
    needed = raw // _MAX_DEFLATE_RATIO
    if idat < needed:
        raise PngDataError(
            f"PNG image data ends early: {idat:,} bytes of compressed data where a "
            f"{width} x {height} image needs at least {needed:,} (truncated or forged file)"
        )
