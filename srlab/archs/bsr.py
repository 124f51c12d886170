"""BSR (Kong 2020, "BSR: a balanced framework for single image super resolution", ITU
Kaleidoscope slides): an RDN-style stack of feature mapping groups (FMG) with light spatial
attention.

The slides show the network only as a figure (no code was published); this file is srlab's
reading of it (docs/architectures.md §8): a frozen DIV2K mean shift on the 0–255 scale,
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

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.blocks import MeanShift, pixel_shuffle_upsampler
from srlab.archs.spec import Architecture, ModelSpec

SCALES = (2, 3, 4)
GROUPS = 10
BLOCKS = 8
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


class Fusion(nn.Conv2d):
    """A 1×1 convolution over the channel concatenation of `parts` maps of `features` channels,
    evaluated part by part as the maps are made: `bias + Σ_i part(i, map_i)` equals the
    convolution of the concatenation, which is never held (8 or 10 maps of 64 channels would
    be most of the memory of a tile)."""

    def __init__(self, parts: int, features: int) -> None:
        super().__init__(parts * features, features, 1)
        self.features = features

    def part(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """The contribution of map `index` (without the bias)."""
        return F.conv2d(x, self.weight.narrow(1, index * self.features, self.features))

    def start(self) -> torch.Tensor:
        """The bias, shaped to start the sum."""
        return self.bias.view(1, -1, 1, 1)


class FMG(nn.Module):
    """Feature mapping group: residual blocks whose outputs are concatenated, fused by a 1×1
    convolution (local fusion), weighted by spatial attention and added to the group input."""

    def __init__(self, features: int, blocks: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock(features) for _ in range(blocks))
        self.fusion = Fusion(blocks, features)
        self.attention = SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fused = self.fusion.start()
        out = x
        for index, block in enumerate(self.blocks):
            out = block(out)
            fused = fused + self.fusion.part(index, out)
        return x + self.attention(fused)


class BSR(nn.Module):
    """BSR on N×3×H×W inputs in 0..1; returns N×3×sH×sW (0..1 range, not clamped)."""

    def __init__(
        self, scale: int = 4, features: int = 64, groups: int = GROUPS, blocks: int = BLOCKS
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"BSR has upsamplers for x{SCALES}, not x{scale}")
        self.sub_mean = MeanShift(value_range=255.0, sign=-1)
        self.shallow1 = nn.Conv2d(3, features, 3, padding=1)
        self.shallow2 = nn.Conv2d(features, features, 3, padding=1)
        self.groups = nn.ModuleList(FMG(features, blocks) for _ in range(groups))
        self.global_fusion = Fusion(groups, features)
        self.global_conv = nn.Conv2d(features, features, 3, padding=1)
        self.upsample = pixel_shuffle_upsampler(features, scale)
        self.tail = nn.Conv2d(features, 3, 3, padding=1)
        self.add_mean = MeanShift(value_range=255.0, sign=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.shallow1(self.sub_mean(x * 255.0))
        out = self.shallow2(skip)
        fused = self.global_fusion.start()
        for index, group in enumerate(self.groups):
            out = group(out)
            fused = fused + self.global_fusion.part(index, out)
        out = self.global_conv(fused) + skip
        return self.add_mean(self.tail(self.upsample(out))) / 255.0


def full_reach(groups: int = GROUPS, blocks: int = BLOCKS) -> int:
    """How far, in LR pixels, an output pixel of BSR can read around the LR pixel it lies in:
    195 for the default build.

    Every 3×3 convolution at LR resolution reaches one pixel further: the two shallow ones, two
    per residual block, the 3×3 of the global fusion and the upsampler's first; each attention
    map reaches 3 more (7×7). The convolutions after the first pixel shuffle work on a finer
    grid: together they reach less than one LR pixel, which can still cross into the next one.
    """
    lr_convs = 2 + groups * (2 * blocks) + 1 + 1
    return lr_convs + groups * (ATTENTION_KERNEL // 2) + 1


# The declared receptive radius is the measured reach of tile borders, not the full reach: a
# tiler keeping 195 pixels of context would need tiles of at least 390 + 390 LR pixels (7.5 GB
# at x4) and four times the work. The weight of far pixels decays fast: on a width-16, full-depth
# x4 BSR trained for 1,200 iterations, tiles overlapping by 8 / 16 / 24 pixels differ from the
# whole image by at most 0.53 / 0.017 / < 0.001 levels of 255 (bench/bsr_tile_reach.py,
# docs/architectures.md §8.2); 48 leaves a wide margin for wider, longer-trained networks.
EFFECTIVE_RADIUS = 48


def _spec_for_build(spec: ModelSpec, options: Mapping[str, Any]) -> ModelSpec:
    """Shallow builds (few groups or blocks) may reach less far than the effective radius."""
    reach = full_reach(options.get("groups", GROUPS), options.get("blocks", BLOCKS))
    return replace(spec, receptive_radius=min(EFFECTIVE_RADIUS, reach))


ARCHITECTURE = Architecture(
    name="bsr",
    build=BSR,
    # Default tiles of 1536 HR pixels hold about 3 GB of activations (EDSR's 2048 hold 3.2 GB).
    spec=ModelSpec(scales=SCALES, receptive_radius=EFFECTIVE_RADIUS, tile_budget=1536),
    summary="BSR (Kong 2020, ITU Kaleidoscope slides): 10 FMGs with spatial attention; "
    "srlab's reading of the slides",
    refine_spec=_spec_for_build,
)
