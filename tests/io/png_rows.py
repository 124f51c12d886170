"""Reading a PNG's row filters back, to check which of the five the encoder chose."""

import struct
import zlib


def filter_types(data: bytes, bytes_per_pixel: int) -> set[int]:
    """The filter type of every row of the PNG file `data`, from its decompressed IDAT stream."""
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * bytes_per_pixel
    assert len(raw) == stride * height
    return {raw[row * stride] for row in range(height)}
