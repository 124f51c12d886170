"""The eight dihedral transforms (flips, transpose, 90-degree rotations) of training patches.

A transform is an id 0..7 whose bits say what to do to the last two axes (H, W), in this order:
bit 2 transpose, bit 1 flip vertically, bit 0 flip horizontally. The LR and HR patches of a pair
get the same id, so they stay aligned. Ids are plain ints so planners can draw them and a
``SampleRequest`` can carry them to worker processes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALL_TRANSFORMS", "ROTATIONS", "allowed_transforms", "dihedral"]

HFLIP, VFLIP, TRANSPOSE = 1, 2, 4
ALL_TRANSFORMS: tuple[int, ...] = tuple(range(8))
# Rotations by 0, 90, 180 and 270 degrees counter-clockwise (as np.rot90 with k = 0..3).
ROTATIONS: tuple[int, ...] = (0, TRANSPOSE | VFLIP, VFLIP | HFLIP, TRANSPOSE | HFLIP)


def allowed_transforms(*, flips: bool, rotations: bool) -> tuple[int, ...]:
    """The ids a planner may draw: each switch adds its subgroup, both give all eight.

    Flips alone mean the horizontal mirror only (as BasicSR's ``use_hflip``); rotations alone
    the four rotations (BSR's default); both generate the whole group.
    """
    if flips and rotations:
        return ALL_TRANSFORMS
    if rotations:
        return ROTATIONS
    return (0, HFLIP) if flips else (0,)


def dihedral(x: np.ndarray, transform: int) -> np.ndarray:
    """Apply transform ``transform`` to the last two axes of ``x``; returns a view, no copy."""
    if not 0 <= transform < 8:
        raise ValueError(f"dihedral transform id must be in 0..7, got {transform!r}")
    if transform & TRANSPOSE:
        x = np.swapaxes(x, -1, -2)
    if transform & VFLIP:
        x = x[..., ::-1, :]
    if transform & HFLIP:
        x = x[..., ::-1]
    return x
