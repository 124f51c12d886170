"""EDSR (Lim et al. 2017): residual blocks without batch norm, pixel-shuffle upsampling.

The baseline configuration (16 blocks, 64 features, residual scale 1) is the workhorse of SR
engineering: the training engine's benchmark and its smallest example configs use it. Works on
the 0–1 scale with a frozen DIV2K mean shift, as the original.
"""

from __future__ import annotations

import torch
from torch import nn

from srlab.archs.blocks import MeanShift, pixel_shuffle_upsampler
from srlab.archs.spec import Architecture, ModelSpec

SPEC = ModelSpec(scales=(2, 3, 4, 8), receptive_radius=40)


class ResBlock(nn.Module):
    """conv-ReLU-conv with an identity skip; the residual is multiplied by `res_scale`."""

    def __init__(self, features: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class EDSR(nn.Module):
    """EDSR on N×3×H×W inputs in 0..1; returns N×3×sH×sW."""

    def __init__(
        self, scale: int = 4, blocks: int = 16, features: int = 64, res_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.sub_mean = MeanShift(value_range=1.0, sign=-1)
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(
            *(ResBlock(features, res_scale) for _ in range(blocks)),
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.tail = nn.Sequential(
            pixel_shuffle_upsampler(features, scale), nn.Conv2d(features, 3, 3, padding=1)
        )
        self.add_mean = MeanShift(value_range=1.0, sign=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


ARCHITECTURE = Architecture(
    name="edsr",
    build=EDSR,
    spec=SPEC,
    summary="EDSR (Lim et al. 2017); baseline = 16 blocks, 64 features",
)
