"""What a network is, in the terms the rest of srlab needs (a spandrel-style descriptor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about an architecture that the loader, tiler and CLI rely on.

    scales: integer factors the network produces natively; empty means any positive factor.
    receptive_radius: how far (in LR pixels) an output pixel looks; the tiler keeps its
        overlap at least this wide so that tiles agree with the whole image.
    global_stats: the network pools statistics over the whole input (tiles cannot agree exactly).
    size_multiple: input height and width must be multiples of this (the tiler pads).
    """

    scales: tuple[int, ...] = ()
    in_channels: int = 3
    out_channels: int = 3
    takes_noise: bool = False
    multi_output: bool = False
    size_multiple: int = 1
    receptive_radius: int = 8
    global_stats: bool = False

    def supports_scale(self, scale: float) -> bool:
        return not self.scales or scale in self.scales


@dataclass(frozen=True)
class Architecture:
    """A registry entry: how to build a network from its options, and, for networks that
    super-resolve images, their spec (None for discriminators and other helpers)."""

    name: str
    build: Callable[..., nn.Module]
    spec: ModelSpec | None
    summary: str
