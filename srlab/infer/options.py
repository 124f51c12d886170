"""How to run a model over images: one typed, checked options object for every caller.

`srlab upscale`, `srlab.upscale`, `srlab eval` and `srlab sweep` build an :class:`UpscaleOptions`
and hand it to the `Upscaler` as it is, so each option is named, defaulted and checked here once.
What depends on the model (a noise input, its receptive radius, its default tile) is checked by
the `Upscaler` that pairs the options with a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from srlab.ops.device import resolve_device

DEFAULT_OVERLAP = 16
DEFAULT_SEED = 0
MIN_SEED, MAX_SEED = -(2**63), 2**64 - 1  # what torch.Generator.manual_seed takes


@dataclass(frozen=True)
class UpscaleOptions:
    """tile: LR tile size; None takes the model's default, 0 runs whole images.
    tile_overlap: context read around each tile, in LR pixels (raised to the model's receptive
        radius by the `Upscaler`).
    ensemble: ×8 self-ensemble (eight times slower).
    device: "cpu" or "cuda" (or "cuda:N").
    half: None lets the model decide (bfloat16 for half-safe models on CPUs with native
        support), True asks for 16-bit floats, False for float32.
    noise: amplitude W of models with a noise input (None: the model's default, 0).
    seed: seeds each image's noise maps (and, in evaluations, the random degradations).
    """

    tile: int | None = None
    tile_overlap: int = DEFAULT_OVERLAP
    ensemble: bool = False
    device: str = "cpu"
    half: bool | None = None
    noise: float | None = None
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if self.tile is not None and (not _is_int(self.tile) or self.tile < 0):
            raise ValueError(f"tile size must be >= 0 (0 disables tiling), got {self.tile!r}")
        if not _is_int(self.tile_overlap) or self.tile_overlap < 0:
            raise ValueError(f"tile overlap must be >= 0, got {self.tile_overlap!r}")
        if self.tile and self.tile_overlap > self.tile // 2:
            raise ValueError(
                f"tile overlap ({self.tile_overlap}) must be at most half the tile size "
                f"({self.tile})"
            )
        if self.noise is not None and not (self.noise >= 0 and math.isfinite(self.noise)):
            raise ValueError(f"noise amplitude must be >= 0, got {self.noise}")
        if self.ensemble and self.noise:
            raise ValueError(
                "self-ensemble averages away the texture that noise adds; use it with W = 0"
            )
        if not isinstance(self.ensemble, bool):
            raise ValueError(f"ensemble must be True or False, got {self.ensemble!r}")
        if self.half is not None and not isinstance(self.half, bool):
            raise ValueError(f"half must be None, True or False, got {self.half!r}")
        if not _is_int(self.seed):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not MIN_SEED <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be from -2**63 to 2**64 - 1, got {self.seed}")
        resolve_device(self.device)

    @property
    def torch_device(self) -> torch.device:
        return resolve_device(self.device)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
