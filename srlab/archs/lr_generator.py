"""SRResCycGAN's degradation generator G_LR: maps an SR image back to the LR domain (÷4).

The paper (Umer & Micheloni 2020) gives no architecture; this is srlab's CinCGAN-style proposal
(docs/architectures.md §4.3): a 7×7 head, two stride-2 convolutions, six residual blocks, two
more convolutions and a 7×7 tail. 609,731 parameters at 64 features. Trained adversarially
against D_y so that its output looks like real LR photos, and through the cycle loss so that it
inverts G_SR.
"""

from __future__ import annotations

import torch
from torch import nn

from srlab.archs.spec import Architecture


def _conv_act(cin: int, cout: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2), nn.LeakyReLU(0.2, True)]


class ResidualBlock(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_act(features, features, 3), nn.Conv2d(features, features, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class LRGenerator(nn.Module):
    """N×3×H×W in 0..1 → N×3×(H/4)×(W/4) (H, W multiples of 4)."""

    def __init__(self, features: int = 64, blocks: int = 6) -> None:
        super().__init__()
        f = features
        self.body = nn.Sequential(
            *_conv_act(3, f, 7),
            *_conv_act(f, f, 3, stride=2),
            *_conv_act(f, f, 3, stride=2),
            *(ResidualBlock(f) for _ in range(blocks)),
            *_conv_act(f, f, 3),
            *_conv_act(f, f, 3),
            nn.Conv2d(f, 3, 7, padding=3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


ARCHITECTURE = Architecture(
    name="lr_generator",
    build=LRGenerator,
    spec=None,
    summary="SRResCycGAN's degradation generator G_LR, x4 down (our proposal)",
)
