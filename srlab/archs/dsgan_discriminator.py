"""DSGAN's patch discriminator (Fritsche et al. 2019), SRResCycGAN's LR-domain judge D_y.

It looks at the high-pass view of an LR image (5×5 box, padding not counted) through four
convolutions and returns a map of real/fake logits, one per receptive field: it judges whether
the *noise and texture* of an image look like those of real LR photos. 1,030,273 parameters.
Follows DSGAN's code (no batch norm after the first convolution; the seed says there is).
"""

from __future__ import annotations

import torch
from torch import nn

from srlab.archs.blocks import HighPass
from srlab.archs.spec import Architecture


class DSGANDiscriminator(nn.Module):
    """N×3×H×W images in 0..1 → N×1×H×W map of logits."""

    def __init__(self, features: int = 64, high_pass: int = 5) -> None:
        super().__init__()
        f = features
        self.high_pass = HighPass(high_pass, count_pad=False)
        self.body = nn.Sequential(
            nn.Conv2d(3, f, 5, padding=2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(f, 2 * f, 5, padding=2),
            nn.BatchNorm2d(2 * f),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * f, 4 * f, 5, padding=2),
            nn.BatchNorm2d(4 * f),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * f, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.high_pass(x))


ARCHITECTURE = Architecture(
    name="dsgan_discriminator",
    build=DSGANDiscriminator,
    spec=None,
    summary="DSGAN patch discriminator on high-pass LR images (SRResCycGAN's D_y)",
)
