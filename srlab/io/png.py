"""srlab's own PNG encoder: 8 or 16 bits, rows given a band at a time.

Pillow cannot write 16-bit colour PNGs, and an image too large to hold in memory has to be
encoded while its rows are still being made, so srlab writes PNGs itself. `PngWriter` takes the
rows top to bottom in bands of any height; each row is filtered with the standard per-row
heuristic (the filter whose output has the smallest sum of absolute signed bytes, as libpng
does), vectorised with numpy a block of rows at a time, the row above a band being the last row
of the band before, and deflated with zlib into IDAT chunks of a fixed size, so the file is the
same however the rows were banded. Writes gray, gray + alpha, RGB and RGBA; embeds an
ICC profile (iCCP) and EXIF (eXIf) when given.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_SAMPLE_DTYPE = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16)}
_BLOCK_BYTES = 1 << 19  # filtered at once; the filter's temporaries are about 40 times this
_IDAT_BYTES = 1 << 16  # compressed data per IDAT chunk, so the file does not depend on the bands


class PngWriter:
    """Writes one PNG to an open binary file: the header now, then rows as they come.

    Give `write` the rows top to bottom, in bands of any height, as uint8 (8 bits) or uint16
    (16 bits) arrays of N x width x channels (N x width for gray); `finish` ends the file and
    raises ValueError unless exactly `height` rows were written.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        width: int,
        height: int,
        channels: int,
        bit_depth: int,
        icc_profile: bytes | None = None,
        exif: bytes | None = None,
        level: int = 6,
    ) -> None:
        if channels not in _COLOUR_TYPE or bit_depth not in _SAMPLE_DTYPE:
            raise ValueError(
                f"PNG takes 1..4 channels of 8 or 16 bits, got {channels} of {bit_depth}"
            )
        if not (0 < width < 2**31 and 0 < height < 2**31):
            raise ValueError(f"PNG sides must be 1..2^31-1 pixels, got {width} x {height}")
        self.width, self.height, self.channels = width, height, channels
        self.dtype = _SAMPLE_DTYPE[bit_depth]
        self.rows_written = 0
        self._out = out
        self._pixel_bytes = channels * self.dtype.itemsize
        self._above = np.zeros(width * self._pixel_bytes, dtype=np.uint8)
        self._compressor = zlib.compressobj(level)
        self._pending = bytearray()
        colour = _COLOUR_TYPE[channels]
        out.write(_SIGNATURE)
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0))
        if icc_profile:
            self._chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile))
        if exif:
            self._chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00"))

    def write(self, samples: np.ndarray) -> None:
        """Append the next rows (see the class)."""
        shape = (self.width,) if self.channels == 1 else (self.width, self.channels)
        if self.channels == 1 and samples.ndim == 3 and samples.shape[2] == 1:
            samples = samples[:, :, 0]
        if samples.dtype != self.dtype or samples.shape[1:] != shape:
            raise ValueError(
                f"expected {self.dtype} rows of shape N x {' x '.join(map(str, shape))}, got "
                f"{samples.dtype} {samples.shape}"
            )
        count = samples.shape[0]
        if self.rows_written + count > self.height:
            raise ValueError(
                f"PNG of {self.height} rows given {self.rows_written + count} rows or more"
            )
        block = max(1, _BLOCK_BYTES // len(self._above))
        for start in range(0, count, block):
            rows = _row_bytes(samples[start : start + block])
            above = np.vstack([self._above[None], rows[:-1]])
            self._compress(_filter_rows(rows, above, self._pixel_bytes).tobytes())
            self._above = rows[-1].copy()
        self.rows_written += count

    def finish(self) -> None:
        """End the image data and the file (ValueError if rows are missing)."""
        if self.rows_written != self.height:
            raise ValueError(f"PNG of {self.height} rows given only {self.rows_written}")
        self._pending += self._compressor.flush()
        self._chunk(b"IDAT", bytes(self._pending))
        self._chunk(b"IEND", b"")

    def _compress(self, data: bytes) -> None:
        self._pending += self._compressor.compress(data)
        while len(self._pending) >= _IDAT_BYTES:
            self._chunk(b"IDAT", bytes(self._pending[:_IDAT_BYTES]))
            del self._pending[:_IDAT_BYTES]

    def _chunk(self, kind: bytes, data: bytes) -> None:
        self._out.write(struct.pack(">I", len(data)) + kind + data)
        self._out.write(struct.pack(">I", zlib.crc32(kind + data)))


def _row_bytes(samples: np.ndarray) -> np.ndarray:
    """N x W (x C) samples as N x bytes-per-row uint8 scanlines (16 bits: big-endian)."""
    count = samples.shape[0]
    if samples.dtype == np.uint16:
        samples = samples.astype(">u2")
    return np.ascontiguousarray(samples).view(np.uint8).reshape(count, -1)


def _filter_rows(rows: np.ndarray, above: np.ndarray, bytes_per_pixel: int) -> np.ndarray:
    """Filter each row with whichever of the five PNG filters suits it best.

    ``rows`` and ``above`` are uint8 N x L (``above`` holds each row's predecessor);
    the result is N x (1 + L): the filter type, then the filtered bytes.
    """
    x = rows.astype(np.int16)
    b = above.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bytes_per_pixel:] = x[:, :-bytes_per_pixel]
    c = np.zeros_like(b)
    c[:, bytes_per_pixel:] = b[:, :-bytes_per_pixel]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    # Filter types 0..4: None, Sub, Up, Average, Paeth.
    candidates = np.stack([x, x - a, x - b, x - ((a + b) >> 1), x - paeth]).astype(np.uint8)
    cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)
    choice = cost.argmin(axis=0)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = choice
    out[:, 1:] = candidates[choice, np.arange(rows.shape[0])]
    return out
