"""What a network is, in the terms the rest of srlab needs (a spandrel-style descriptor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from srlab.archs.keymap import KeyMap


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about an architecture that the loader, tiler and CLI rely on.

    scales: integer factors the network produces natively; empty means any positive factor.
    receptive_radius: how far (in LR pixels) an output pixel looks; the tiler keeps its
        overlap at least this wide so that tiles agree with the whole image.
    global_stats: the network pools statistics over the whole input; the module then has
        `image_statistics(x) -> dict` and its forward takes those entries as keyword arguments,
        so the tiler computes them once per image and every tile shares them.
    size_multiple: input height and width must be multiples of this (the tiler pads).
    multi_output: the forward returns a list of images (e.g. one per recurrent step), the last
        being the result, and accepts `last_only=True` to compute just that one.
    tile_budget: output side length (HR pixels) of a default tile; memory-hungry networks
        declare less so that default tiles stay within a few GiB.
    half_safe: running in bfloat16 costs the model no visible quality (measured; see
        docs/models.md), so the upscaler uses it by default where the CPU supports it natively.
    takes_noise: the module's forward takes a noise amplitude `noise` and unit `noise_maps`,
        and the module has `draw_noise(batch, h, w, generator)` and
        `crop_noise(maps, top, left, h, w)` (so tiles can share one image's noise).
    """

    scales: tuple[int, ...] = ()
    in_channels: int = 3
    out_channels: int = 3
    takes_noise: bool = False
    multi_output: bool = False
    size_multiple: int = 1
    receptive_radius: int = 8
    global_stats: bool = False
    tile_budget: int = 2048
    half_safe: bool = False

    def supports_scale(self, scale: float) -> bool:
        return not self.scales or scale in self.scales

    def default_tile(self, scale: int) -> int:
        """LR tile size whose output is about `tile_budget` pixels wide."""
        return max(32, self.tile_budget // scale)


@dataclass(frozen=True)
class Architecture:
    """A registry entry: how to build a network from its options, and, for networks that
    super-resolve images, their spec (None for discriminators and other helpers).

    `foreign` gives the key map of a published layout (the authors' release) whose state
    dicts the loader accepts as they are.
    """

    name: str
    build: Callable[..., nn.Module]
    spec: ModelSpec | None
    summary: str
    foreign: Callable[[], KeyMap] | None = None
