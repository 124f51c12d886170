"""Is a JPEG file's image data all there? Checked from its markers, before any decoding.

libjpeg (inside Pillow) fills missing image data with grey and says so only in a warning
that Pillow never shows, so a file cut short and closed with an end-of-image marker, or a
600-byte file whose header claims 10000 x 10000 pixels, decodes "successfully". This module
walks the marker segments and the entropy-coded scans (no Huffman decoding) and refuses:

- a file that ends before its end-of-image marker (EOI);
- a frame with no scan, or a component that no scan codes; in a progressive file, a component
  coefficient that no scan brings to full precision (the scans that should follow are missing);
- a Huffman-coded scan shorter than any complete scan of its size can be: every 8 x 8 block
  costs at least 2 bits in a sequential scan (a DC and an end-of-block code) and at least
  1 bit in a progressive DC scan (ITU-T T.81, F.1.2 and G.1.2).

``trimmed_for_decoding`` then lets the decoder itself catch a sequential scan that stops
early, by removing the end-of-image marker (see its docstring).
"""

from __future__ import annotations

import io
import math
import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0..RST7: no length field
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not frames
_SEQUENTIAL_HUFFMAN = frozenset({0xC0, 0xC1})
_PROGRESSIVE_HUFFMAN = 0xC2
# The marker ending a scan: 0xFF, then neither a stuffed zero, a restart marker nor fill.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_DECODER_LOOKAHEAD = 16  # zero bytes libjpeg may read ahead past the last scan (it reads 8)


class JpegDataError(ValueError):
    """The JPEG's image data is missing or shorter than its header needs."""


@dataclass
class _Component:
    ident: int
    h: int
    v: int


@dataclass
class _Scan:
    components: list[int]
    spectral_start: int
    spectral_end: int
    approx_low: int
    data_bytes: int


@dataclass
class JpegLayout:
    """What the marker walk found: frame type, size, components and scans."""

    frame_marker: int = 0
    width: int = 0
    height: int = 0
    components: list[_Component] = field(default_factory=list)
    scans: list[_Scan] = field(default_factory=list)
    eoi_offset: int = -1


def check_jpeg(data: bytes) -> JpegLayout:
    """Walk the first image of a JPEG file (an MPO's primary image); JpegDataError if it is
    cut short or its scans are too small for the frame's size."""
    layout = _walk(data)
    if not layout.components:
        raise JpegDataError("no JPEG frame header before the image data")
    if not layout.scans:
        raise JpegDataError("no image data (the JPEG has no scan)")
    if layout.height == 0 or layout.width == 0:
        raise JpegDataError("JPEG frame header gives a zero width or height")
    _check_coverage(layout)
    _check_scan_sizes(layout)
    return layout


def trimmed_for_decoding(data: bytes, layout: JpegLayout) -> BinaryIO | None:
    """The file with its end-of-image marker replaced by a few zero bytes, or None.

    For a single-scan sequential Huffman JPEG (most camera and web JPEGs) libjpeg then
    needs real data until the last block: a scan that stops early makes it ask for more
    bytes, and Pillow reports the file as truncated instead of filling grey. The zeros only
    satisfy the decoder's read-ahead. A scan missing no more than about its last block or two
    can still pass (the zeros decode as those blocks). None for other JPEGs (progressive or
    multi-scan files need the marker to finish), which keep the checks of ``check_jpeg``.
    The returned stream shares ``data`` (no copy).
    """
    single = len(layout.scans) == 1 and len(layout.scans[0].components) == len(layout.components)
    if layout.frame_marker not in _SEQUENTIAL_HUFFMAN or not single:
        return None
    return io.BufferedReader(_ZeroTail(memoryview(data)[: layout.eoi_offset]))


class _ZeroTail(io.RawIOBase):
    """A read-only stream: ``head``, then _DECODER_LOOKAHEAD zero bytes."""

    def __init__(self, head: memoryview) -> None:
        super().__init__()
        self._head = head
        self._size = len(head) + _DECODER_LOOKAHEAD
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:
        count = max(0, min(len(buffer), self._size - self._pos))
        real = self._head[self._pos : self._pos + count]
        buffer[: len(real)] = real
        buffer[len(real) : count] = bytes(count - len(real))
        self._pos += count
        return count


def _walk(data: bytes) -> JpegLayout:
    if data[:2] != b"\xff" + bytes([_SOI]):
        raise JpegDataError("not a JPEG file (no start-of-image marker)")
    layout = JpegLayout()
    pos = 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == _EOI:
            layout.eoi_offset = pos - 2
            return layout
        if marker in _STANDALONE:
            continue
        if pos + 2 > len(data):
            raise JpegDataError("the file ends inside the JPEG headers (truncated)")
        (length,) = struct.unpack_from(">H", data, pos)
        end = pos + length
        if length < 2 or end > len(data):
            raise JpegDataError("the file ends inside a JPEG header segment (truncated)")
        body = data[pos + 2 : end]
        if marker in _SOF and not layout.components:
            _read_frame(layout, marker, body)
        elif marker == _SOS:
            end = _read_scan(layout, body, data, end)
        pos = end


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The next marker from ``pos`` on and the position after it.

    Like libjpeg, stray bytes between segments and 0xFF fill bytes are skipped.
    """
    while True:
        pos = data.find(b"\xff", pos)
        while 0 <= pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos < 0 or pos >= len(data):
            raise JpegDataError("the file ends before the JPEG end-of-image marker (truncated)")
        if data[pos] != 0x00:
            return data[pos], pos + 1


def _read_frame(layout: JpegLayout, marker: int, body: bytes) -> None:
    if len(body) < 6:
        raise JpegDataError("corrupt JPEG frame header")
    _precision, height, width, count = struct.unpack_from(">BHHB", body)
    if len(body) < 6 + 3 * count or count == 0:
        raise JpegDataError("corrupt JPEG frame header")
    layout.frame_marker, layout.width, layout.height = marker, width, height
    for i in range(count):
        ident, sampling, _table = body[6 + 3 * i : 9 + 3 * i]
        h, v = sampling >> 4, sampling & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4):
            raise JpegDataError("corrupt JPEG frame header (sampling factors)")
        layout.components.append(_Component(ident, h, v))


def _read_scan(layout: JpegLayout, body: bytes, data: bytes, start: int) -> int:
    """Record the scan whose header is ``body``; return where its entropy-coded data ends."""
    if not layout.components:
        raise JpegDataError("JPEG image data comes before its frame header")
    count = body[0] if body else 0
    if count == 0 or len(body) < 1 + 2 * count + 3:
        raise JpegDataError("corrupt JPEG scan header")
    idents = [body[1 + 2 * i] for i in range(count)]
    spectral_start, spectral_end, approx = body[1 + 2 * count : 4 + 2 * count]
    found = _SCAN_END.search(data, start)
    if found is None:
        raise JpegDataError("the file ends inside the JPEG image data (truncated)")
    scan = _Scan(idents, spectral_start, spectral_end, approx & 0x0F, found.start() - start)
    layout.scans.append(scan)
    return found.start()


def _check_coverage(layout: JpegLayout) -> None:
    """Every component must be coded by some scan; in a progressive file every coefficient
    (0..63) of every component must reach full precision (a scan with Al = 0), as every
    progressive encoder sends them: if not, the file lost its last scans."""
    for component in layout.components:
        scans = [s for s in layout.scans if component.ident in s.components]
        if not scans:
            raise JpegDataError(
                f"JPEG image data is incomplete: component {component.ident} is never coded"
            )
        if layout.frame_marker != _PROGRESSIVE_HUFFMAN:
            continue
        final = set()
        for scan in scans:
            if scan.approx_low == 0:
                final.update(range(scan.spectral_start, min(scan.spectral_end, 63) + 1))
        if len(final) < 64:
            raise JpegDataError(
                "progressive JPEG image data is incomplete: scans that should follow are "
                "missing (truncated file)"
            )


def _check_scan_sizes(layout: JpegLayout) -> None:
    """Refuse Huffman scans shorter than the fewest bits their blocks can be coded in."""
    if layout.frame_marker in _SEQUENTIAL_HUFFMAN:
        bits_per_block = 2
    elif layout.frame_marker == _PROGRESSIVE_HUFFMAN:
        bits_per_block = 1
    else:
        return  # arithmetic coding and lossless JPEG have no useful lower bound
    for scan in layout.scans:
        if layout.frame_marker == _PROGRESSIVE_HUFFMAN and scan.spectral_start != 0:
            continue  # AC scans can code long runs of empty blocks in a few bits
        needed = math.ceil(_blocks(layout, scan) * bits_per_block / 8)
        if scan.data_bytes < needed:
            raise JpegDataError(
                f"JPEG image data ends early: {scan.data_bytes:,} bytes of scan data where a "
                f"{layout.width} x {layout.height} image needs at least {needed:,} "
                "(truncated or forged file)"
            )


def _blocks(layout: JpegLayout, scan: _Scan) -> int:
    """The number of 8 x 8 blocks a scan codes (T.81, A.2)."""
    h_max = max(c.h for c in layout.components)
    v_max = max(c.v for c in layout.components)
    members = [c for c in layout.components if c.ident in scan.components]
    if len(members) == 1:
        (c,) = members
        columns = math.ceil(math.ceil(layout.width * c.h / h_max) / 8)
        rows = math.ceil(math.ceil(layout.height * c.v / v_max) / 8)
        return columns * rows
    mcus = math.ceil(layout.width / (8 * h_max)) * math.ceil(layout.height / (8 * v_max))
    return mcus * sum(c.h * c.v for c in members)
