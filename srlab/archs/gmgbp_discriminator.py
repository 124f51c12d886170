"""G-MGBP's multi-scale recursive discriminator with the VN+SC input layer.

The paper (Navarrete Michelini et al. 2018) describes the pieces (a parameter-free
variance-normalisation + shift-correlator layer, and a discriminator that mirrors the generator's
multi-grid structure) but its wiring figure is not available as text; this is srlab's proposal
(docs/architectures.md §6.3): analyse every scale, fold the finer scales down with the
generator's Downscale-like pooling block, and average a one-channel map.
The parameter count does not depend on the number of scales, so D^1..D^3 share weights.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.gmgbp import FilterBlock, downscale_block, synthesis_block
from srlab.archs.spec import Architecture

# ITU-R BT.601 luma on the 0..255 scale for RGB in 0..1 (MATLAB rgb2ycbcr).
_LUMA = (65.481, 128.553, 24.966)


class VNSC(nn.Module):
    """Variance normalisation + shift correlator: 49 channels of local luminance correlations.

    Î = (I − μ) / (σ + 1) with μ, σ from a normalised 7×7 Gaussian (σ_G = 7/6) over the luma I
    (0..255); channel 7(p+3) + (q+3) is Î(i, j)·Î(i+p, j+q) for shifts p, q in −3..3, reflect
    padded. The output no longer depends on local brightness or contrast, only on structure.
    """

    def __init__(self, radius: int = 3, window: int = 7, sigma: float = 7 / 6) -> None:
        super().__init__()
        self.radius = radius
        t = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
        g = torch.exp(-(t**2) / (2 * sigma**2))
        kernel = torch.outer(g, g)
        # Kept in float64 and cast at use, so double-precision checks are exact.
        self.register_buffer("window", (kernel / kernel.sum())[None, None], False)
        luma = torch.tensor(_LUMA, dtype=torch.float64).view(1, 3, 1, 1)
        self.register_buffer("luma", luma, False)

    @property
    def channels(self) -> int:
        return (2 * self.radius + 1) ** 2

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        luma = 16.0 + (rgb * self.luma.to(rgb.dtype)).sum(dim=1, keepdim=True)
        pad = self.window.shape[-1] // 2
        window = self.window.to(rgb.dtype)

        def blur(z: torch.Tensor) -> torch.Tensor:
            return F.conv2d(F.pad(z, (pad,) * 4, mode="reflect"), window)

        mean = blur(luma)
        std = (blur(luma * luma) - mean * mean).abs().sqrt()
        norm = (luma - mean) / (std + 1.0)
        r = self.radius
        h, w = norm.shape[-2:]
        padded = F.pad(norm, (r, r, r, r), mode="reflect")
        shifted = [
            padded[..., r + p : r + p + h, r + q : r + q + w]
            for p in range(-r, r + 1)
            for q in range(-r, r + 1)
        ]
        return norm * torch.cat(shifted, dim=1)


class GMGBPDiscriminator(nn.Module):
    """Scores a pyramid of images (coarsest first, each twice the previous) with one logit per
    sample (N): higher means more natural."""

    def __init__(self, features: int = 48, growth: int = 16) -> None:
        super().__init__()
        self.vnsc = VNSC()
        self.analysis = nn.Sequential(
            OrderedDict(
                head=nn.Conv2d(self.vnsc.channels, features, 3, padding=1, bias=False),
                body=FilterBlock(3, features, growth),
            )
        )
        self.pool = downscale_block(features, growth)
        self.synthesis = synthesis_block(features, 1, growth)

    def forward(self, pyramid: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        images = [pyramid] if isinstance(pyramid, torch.Tensor) else list(pyramid)
        h = self.analysis(self.vnsc(images[-1]))
        for image in reversed(images[:-1]):
            h = self.analysis(self.vnsc(image)) + self.pool(h)
        return self.synthesis(h).mean(dim=(1, 2, 3))


ARCHITECTURE = Architecture(
    name="gmgbp_discriminator",
    build=GMGBPDiscriminator,
    spec=None,
    summary="G-MGBP's multi-scale recursive discriminator with VN+SC input (our wiring)",
)
