"""MATLAB bicubic interpolation packaged as a model, so classical upscaling runs through the
same loader, tiler and CLI as every network (and serves as the baseline row of evaluations)."""

from __future__ import annotations

import torch
from torch import nn

from srlab.archs.spec import Architecture, ModelSpec
from srlab.ops.resize import imresize

SPEC = ModelSpec(scales=(), receptive_radius=2)


class BicubicInterpolator(nn.Module):
    """Upscales N×C×H×W tensors in 0..1 by an integer `scale` with MATLAB bicubic `imresize`.

    Computes in float32 whatever the input precision (bicubic weights lose too much in 16-bit
    floats) and returns the input's dtype. The result is clamped to 0..1 because bicubic
    overshoots at edges and images cannot hold values outside their range.
    """

    def __init__(self, scale: int = 4) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        self.scale = int(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = imresize(x.float().contiguous(), scale=self.scale)
        return y.clamp_(0.0, 1.0).to(x.dtype)


ARCHITECTURE = Architecture(
    name="bicubic",
    build=BicubicInterpolator,
    spec=SPEC,
    summary="MATLAB-compatible bicubic interpolation (classical baseline, no weights)",
)
