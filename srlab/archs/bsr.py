"""BSR (Kong et al., "BSR: a balanced framework for single image super resolution", ITU
Kaleidoscope 2020): an RDN-style stack of feature mapping groups (FMG) with light spatial
attention.

The slides show the network only as a figure (no code was published); this file is srlab's
reading of it, documented in docs/training.md: a frozen DIV2K mean shift on the 0–255 scale,
two shallow 3×3 convolutions, `groups` FMGs whose outputs are all fused (1×1 then 3×3, as in
RDN's global feature fusion), a global skip from the first shallow convolution, a pixel-shuffle
upsampler and a 3×3 reconstruction. An FMG chains `blocks` residual blocks, fuses all their
outputs with a 1×1 convolution, weights the result by a spatial attention map (a 7×7
convolution over the channel mean and channel max, then a sigmoid) and adds its own input.
Takes and returns 0..1 images. Defaults (64 features, 10 FMGs of 8 blocks) give 6,503,905 /
6,688,545 / 6,651,617 trained parameters at ×2 / ×3 / ×4 and 186 / 186 / 187 convolutions
besides the two mean shifts, under the slides' "fewer than 200 convolution layers".
"""

from __future__ import annotations

import torch
from torch import nn

from srlab.archs.blocks import MeanShift, pixel_shuffle_upsampler
from srlab.archs.spec import Architecture, ModelSpec

SCALES = (2, 3, 4)
ATTENTION_KERNEL = 7


class ResidualBlock(nn.Module):
    """conv 3×3 → ReLU → conv 3×3, plus the identity."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SpatialAttention(nn.Module):
    """Multiplies features by a per-pixel weight in (0, 1) computed from their channel mean and
    channel max by one 7×7 convolution and a sigmoid (98 + 1 parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, ATTENTION_KERNEL, padding=ATTENTION_KERNEL // 2)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The N×1×H×W attention map of features `x`."""
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)


class FMG(nn.Module):
    """Feature mapping group: residual blocks whose outputs are concatenated, fused by a 1×1
    convolution (local fusion), weighted by spatial attention and added to the group input."""

    def __init__(self, features: int, blocks: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock(features) for _ in range(blocks))
        self.fusion = nn.Conv2d(blocks * features, features, 1)
        self.attention = SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        out = x
        for block in self.blocks:
            out = block(out)
            outputs.append(out)
        return x + self.attention(self.fusion(torch.cat(outputs, dim=1)))


class BSR(nn.Module):
    """BSR on N×3×H×W inputs in 0..1; returns N×3×sH×sW (0..1 range, not clamped)."""

    def __init__(
        self, scale: int = 4, features: int = 64, groups: int = 10, blocks: int = 8
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"BSR has upsamplers for x{SCALES}, not x{scale}")
        self.sub_mean = MeanShift(value_range=255.0, sign=-1)
        self.shallow1 = nn.Conv2d(3, features, 3, padding=1)
        self.shallow2 = nn.Conv2d(features, features, 3, padding=1)
        self.groups = nn.ModuleList(FMG(features, blocks) for _ in range(groups))
        self.global_fusion = nn.Sequential(
            nn.Conv2d(groups * features, features, 1),
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.upsample = pixel_shuffle_upsampler(features, scale)
        self.tail = nn.Conv2d(features, 3, 3, padding=1)
        self.add_mean = MeanShift(value_range=255.0, sign=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shallow1(self.sub_mean(x * 255.0))
        out = self.shallow2(skip)
        outputs = []
        for group in self.groups:
            out = group(out)
            outputs.append(out)
        out = self.global_fusion(torch.cat(outputs, dim=1)) + skip
        return self.add_mean(self.tail(self.upsample(out))) / 255.0


def receptive_radius(groups: int = 10, blocks: int = 8) -> int:
    """How far, in LR pixels, any output pixel of BSR reads around the LR pixel it lies in.

    Every 3×3 convolution at LR resolution reaches one pixel further: the two shallow ones, two
    per residual block, the 3×3 of the global fusion and the upsampler's first; each attention
    map reaches 3 more (7×7). The convolutions after the first pixel shuffle work on a finer
    grid: together they reach less than one LR pixel, which can still cross into the next one.
    """
    lr_convs = 2 + groups * (2 * blocks) + 1 + 1
    return lr_convs + groups * (ATTENTION_KERNEL // 2) + 1


# The true radius (195 LR pixels for the default build) is finite and small enough for whole
# tiles (the default tile is 512 LR pixels at x4), so the tiler is given it as it is.
ARCHITECTURE = Architecture(
    name="bsr",
    build=BSR,
    spec=ModelSpec(scales=SCALES, receptive_radius=receptive_radius()),
    summary="BSR (Kong et al., ITU Kaleidoscope 2020): 10 FMGs with spatial attention; "
    "srlab's reading of the slides",
)
