"""Generated image files for the server's tests, good and bad."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def noise_image(height: int, width: int, channels: int, dtype=np.uint8, seed: int = 0):
    """Seeded random pixels (H x W or H x W x C)."""
    top = np.iinfo(dtype).max
    values = np.random.default_rng(seed).integers(0, top, (height, width, channels), endpoint=True)
    values = values.astype(dtype)
    return values[:, :, 0] if channels == 1 else values


def encoded(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def png16_rgba(height: int, width: int) -> bytes:
    """A 16-bit RGBA PNG written by hand (Pillow cannot write 16-bit colour)."""
    samples = noise_image(height, width, 4, np.uint16)
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in samples)
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return _png(header, zlib.compress(raw))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height gray pixels over a few bytes of data: a
    decompression bomb as far as its header goes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return _png(header, zlib.compress(b"\x00" * 64))


def black_png(width: int, height: int) -> bytes:
    """A valid 8-bit gray PNG of zeros: large in pixels, small in bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return _png(header, zlib.compress(b"\x00" * ((width + 1) * height)))


def _png(header: bytes, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(
        b"IEND", b""
    )


def files_under(folder: Path) -> list[Path]:
    """Every file below `folder`, relative to it, sorted."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
