"""Building blocks shared by several architectures."""

from __future__ import annotations

import math

import torch
from torch import nn

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Conv2d):
    """Frozen 1×1 convolution adding (sign=+1) or subtracting (sign=-1) the DIV2K RGB mean
    times `value_range` (1 for 0–1 models, 255 for 0–255 ones). 12 parameters, not trained."""

    def __init__(self, value_range: float = 1.0, sign: int = -1) -> None:
        super().__init__(3, 3, kernel_size=1)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.bias.copy_(sign * value_range * torch.tensor(DIV2K_RGB_MEAN))
        self.requires_grad_(False)


def pixel_shuffle_upsampler(features: int, scale: int) -> nn.Sequential:
    """Conv + PixelShuffle stages: ×2 repeated for powers of two, one ×3 stage for 3."""
    if scale == 3:
        factors = [3]
    elif scale >= 2 and scale & (scale - 1) == 0:
        factors = [2] * int(math.log2(scale))
    else:
        raise ValueError(f"pixel-shuffle upsampler supports x3 and powers of two, not x{scale}")
    layers: list[nn.Module] = []
    for f in factors:
        layers += [nn.Conv2d(features, features * f * f, 3, padding=1), nn.PixelShuffle(f)]
    return nn.Sequential(*layers)


class HighPass(nn.Module):
    """0.5 + 0.5·(x − box blur of x) on the 0–255 scale, for inputs in 0..1: the high-pass view
    SRResCGAN's discriminators judge (colour and shading are left out, detail stays).

    `count_pad`: whether the zero padding at the borders counts in the box average (D_x: yes;
    DSGAN's D_y: no).
    """

    def __init__(self, kernel: int, count_pad: bool) -> None:
        super().__init__()
        self.blur = nn.AvgPool2d(kernel, stride=1, padding=kernel // 2, count_include_pad=count_pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * 255.0
        return 0.5 + 0.5 * (x - self.blur(x))
