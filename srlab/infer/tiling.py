"""Split an LR image into overlapping tiles and blend their outputs back seamlessly.

Each tile owns a *core* interval per axis and reads `overlap` extra LR pixels of context on
each side. Neighbouring outputs are cross-faded with linear ramps over the central half of
the shared band only, so the outer quarter on each side — where a tile sees its own
artificial border — never contributes. The ramps of neighbours sum to one (a partition of
unity), so the blend needs no full-size weight buffer and a local model gives back exactly
the untiled result.

Networks that need sizes in multiples of m (e.g. RRDBNet ×2/×1, which pixel-unshuffle their
input) see every tile's window start on a multiple of m, so a tile is cut on the same grid as
the whole image and gives back the same pixels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Span:
    """One tile along one axis, in LR pixels: the core it owns and the context it reads."""

    core_start: int
    core_stop: int
    read_start: int
    read_stop: int


def split_axis(length: int, tile: int, overlap: int, multiple: int = 1) -> list[Span]:
    """Cores of at most `tile` pixels covering `length`, each padded by `overlap` context; each
    read window starts on a multiple of `multiple` (reading up to multiple − 1 pixels more)."""
    if length < 1:
        raise ValueError(f"cannot tile an axis of length {length}")
    if tile < 1:
        raise ValueError(f"tile size must be positive, got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be non-negative, got {overlap}")
    if multiple < 1:
        raise ValueError(f"size multiple must be positive, got {multiple}")
    count = -(-length // tile)
    bounds = [round(i * length / count) for i in range(count + 1)]
    return [
        Span(a, b, max(0, a - overlap) // multiple * multiple, min(length, b + overlap))
        for a, b in itertools.pairwise(bounds)
    ]


def axis_weights(span: Span, length: int, overlap: int, scale: int) -> np.ndarray:
    """Blend weights over the output pixels a span reads (read_start*scale .. read_stop*scale).

    Each inner seam gets a linear ramp `overlap` LR pixels wide (clipped to the cores on
    either side), centred on the seam; weights are zero beyond it and one inside the core.
    """
    positions = (np.arange(span.read_start * scale, span.read_stop * scale) + 0.5) / scale
    weights = np.ones_like(positions)
    half = overlap / 2
    if span.core_start > 0:
        weights *= _ramp(positions, span.core_start, half)
    if span.core_stop < length:
        weights *= 1.0 - _ramp(positions, span.core_stop, half)
    return weights.astype(np.float32)


def _ramp(positions: np.ndarray, seam: float, half_width: float) -> np.ndarray:
    """0 before seam-half_width, 1 after seam+half_width, linear between (a step when 0)."""
    if half_width == 0:
        return (positions >= seam).astype(np.float64)
    return np.clip((positions - (seam - half_width)) / (2 * half_width), 0.0, 1.0)


@dataclass(frozen=True)
class Tile:
    """A 2-D tile: its LR read window and the blend weights of its output window."""

    rows: Span
    cols: Span
    row_weights: np.ndarray
    col_weights: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        return np.outer(self.row_weights, self.col_weights)


def plan_tiles(
    height: int, width: int, tile: int, overlap: int, scale: int, multiple: int = 1
) -> Iterator[Tile]:
    """All tiles of an image, row by row; windows start on multiples of `multiple`."""
    if overlap > tile // 2:
        raise ValueError(
            f"tile overlap ({overlap}) must be at most half the tile size ({tile}); "
            "otherwise the blend ramps of one tile would meet"
        )
    row_spans = split_axis(height, tile, overlap, multiple)
    col_spans = split_axis(width, tile, overlap, multiple)
    col_weights = [axis_weights(s, width, overlap, scale) for s in col_spans]
    for rs in row_spans:
        rw = axis_weights(rs, height, overlap, scale)
        for cs, cw in zip(col_spans, col_weights, strict=True):
            yield Tile(rs, cs, rw, cw)

