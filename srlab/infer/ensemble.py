"""The ×8 self-ensemble: run a model on the eight dihedral transforms of its input and
average the outputs after undoing each transform (the "+" results of SR papers)."""

from __future__ import annotations

from collections.abc import Callable

import torch

Transform = tuple[bool, bool, bool]  # (transpose, flip rows, flip columns)

DIHEDRAL: tuple[Transform, ...] = tuple(
    (t, fr, fc) for t in (False, True) for fr in (False, True) for fc in (False, True)
)


def apply(x: torch.Tensor, transform: Transform) -> torch.Tensor:
    transpose, flip_rows, flip_cols = transform
    if transpose:
        x = x.transpose(-2, -1)
    dims = [d for d, on in ((-2, flip_rows), (-1, flip_cols)) if on]
    return x.flip(dims) if dims else x


def undo(x: torch.Tensor, transform: Transform) -> torch.Tensor:
    transpose, flip_rows, flip_cols = transform
    dims = [d for d, on in ((-2, flip_rows), (-1, flip_cols)) if on]
    if dims:
        x = x.flip(dims)
    return x.transpose(-2, -1) if transpose else x


def self_ensemble(
    run: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> torch.Tensor:
    """Mean of `run` over the eight dihedral views of x, accumulated in float32."""
    total = None
    for transform in DIHEDRAL:
        y = undo(run(apply(x, transform)), transform).float()
        total = y if total is None else total.add_(y)
    return total.div_(len(DIHEDRAL))
