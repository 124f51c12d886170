"""A 16-bit-per-channel PNG encoder, because Pillow cannot write 16-bit colour PNGs.

Rows are filtered with the standard per-row heuristic (the filter whose output has
the smallest sum of absolute signed bytes, as libpng does), vectorised with numpy a
block of rows at a time, and deflated with zlib. Writes gray, gray + alpha, RGB and
RGBA; embeds an ICC profile (iCCP) and EXIF (eXIf) when given.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_ROWS_PER_BLOCK = 64


def write_png16(
    path: Path,
    samples: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    level: int = 6,
) -> None:
    """Write uint16 samples (H x W x C, C = 1..4, alpha last) as a 16-bit PNG."""
    if samples.dtype != np.uint16 or samples.ndim != 3 or samples.shape[2] not in _COLOUR_TYPE:
        raise ValueError(
            f"expected uint16 H x W x 1..4 samples, got {samples.dtype} {samples.shape}"
        )
    height, width, channels = samples.shape
    rows = samples.astype(">u2").view(np.uint8).reshape(height, width * channels * 2)
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOUR_TYPE[channels], 0, 0, 0)
    with open(path, "wb") as out:
        out.write(_SIGNATURE)
        _chunk(out, b"IHDR", header)
        if icc_profile:
            _chunk(out, b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile))
        if exif:
            _chunk(out, b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
        compressor = zlib.compressobj(level)
        for block in _filtered_blocks(rows, bytes_per_pixel=channels * 2):
            data = compressor.compress(block)
            if data:
                _chunk(out, b"IDAT", data)
        _chunk(out, b"IDAT", compressor.flush())
        _chunk(out, b"IEND", b"")


def _chunk(out: BinaryIO, kind: bytes, data: bytes) -> None:
    out.write(struct.pack(">I", len(data)) + kind + data)
    out.write(struct.pack(">I", zlib.crc32(kind + data)))


def _filtered_blocks(rows: np.ndarray, *, bytes_per_pixel: int) -> Iterator[bytes]:
    """Filtered scanlines (filter-type byte + data), a block of rows at a time."""
    previous = np.zeros(rows.shape[1], dtype=np.uint8)
    for start in range(0, rows.shape[0], _ROWS_PER_BLOCK):
        block = rows[start : start + _ROWS_PER_BLOCK]
        above = np.vstack([previous[None], block[:-1]])
        yield _filter_rows(block, above, bytes_per_pixel).tobytes()
        previous = block[-1]


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
