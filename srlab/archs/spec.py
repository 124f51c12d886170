"""What a network is, in the terms the rest of srlab needs (a spandrel-style descriptor).

Every architecture file ends with one `ARCHITECTURE = Architecture(...)`: its name, how to build
it, its `ModelSpec` (None for discriminators and other helper networks) and the foreign
state-dict layouts (authors' releases, community checkpoints) it accepts as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from srlab.archs.keymap import KeyMap


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about a super-resolution network that the loader, tiler and CLI rely on.

    scales: integer factors the network produces natively; empty means any positive factor.
    in_channels: colour channels the network takes (gray images are repeated to fill them).
    receptive_radius: the minimum tile overlap (LR pixels) at which tiled output agrees with
        the whole image. Tiles cross-fade over the inner half of their overlap, so exact
        agreement needs twice how far an output pixel looks; networks whose reach dies out
        (G-MGBP, BSR) declare the overlap measured to agree within float precision or 1/255.
    global_stats: the network pools statistics over the whole input; the module then has
        `image_statistics(x) -> dict` and its forward takes those entries as keyword arguments,
        so the tiler computes them once per image and every tile shares them.
    size_multiple: input height and width must be multiples of this (inputs are padded).
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


def _fixed_options(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Layouts of a single published configuration: nothing to read off the tensors."""
    return {}


@dataclass(frozen=True)
class ForeignLayout:
    """A state-dict layout written by other code that an architecture loads as it is.

    `keymap(**options)` maps our parameter names (for those build options) to the layout's;
    `detect(state)` reads the build options off a state dict's tensors (widths, block counts,
    scale), or returns None when the tensors cannot be in this layout.
    """

    keymap: Callable[..., KeyMap]
    detect: Callable[[Mapping[str, torch.Tensor]], dict[str, Any] | None] = _fixed_options

    def recognise(self, state: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
        """The build options of `state` when most of its keys are this layout's, else None."""
        options = self.detect(state)
        if options is None:
            return None
        return options if self.keymap(**options).recognises(state) else None


@dataclass(frozen=True)
class Architecture:
    """A registry entry: how to build a network from its options, and, for networks that
    super-resolve images, their spec (None for discriminators and other helpers)."""

    name: str
    build: Callable[..., nn.Module]
    spec: ModelSpec | None
    summary: str  # one line for `srlab models --archs`: what it is and where it comes from
    foreign: tuple[ForeignLayout, ...] = field(default=())
    # For networks whose facts depend on their build options (RRDBNet's x2 and x1 unshuffle
    # their input, so need even sizes): (spec, options) -> the spec of that build.
    refine_spec: Callable[[ModelSpec, Mapping[str, Any]], ModelSpec] | None = None

    def spec_for(self, options: Mapping[str, Any]) -> ModelSpec | None:
        """The spec of the network built with `options` (scale included)."""
        if self.spec is None or self.refine_spec is None:
            return self.spec
        return self.refine_spec(self.spec, options)
