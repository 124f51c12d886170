"""G-MGBP (Navarrete Michelini et al., PIRM 2018): generative multi-grid back-projection.

One small network (281,084 parameters, all modules shared across levels) runs log2(s) levels
of ×2 with μ recursive back-projections per level. A one-channel noise map of amplitude W
enters every level: W = 0 gives the low-distortion result, W = 1 the perceptual one, and any W
in between slides along the perception–distortion curve without retraining.

Everything follows the authors' released forward pass (pnavarre/pirm-sr-2018, `_v3_ms`): the
input is reflect-padded by s LR pixels, an extra LR-level correction is added before the
first level, and s² HR pixels are cropped from each side. Works on the 0–1 scale.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.keymap import KeyMap
from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec
from srlab.ops.resize import imresize

MAX_SCALE = 16
SPEC = ModelSpec(
    scales=tuple(range(2, MAX_SCALE + 1)),
    takes_noise=True,
    receptive_radius=16,
    tile_budget=1024,
    half_safe=True,  # bench/gmgbp_speed.py: bf16 weights -0.010 dB PSNR-Y on the dev photos
)


class BiasReLU(nn.Module):
    """A learned per-channel bias (zero at init) followed by ReLU: the authors' stand-in for
    batch normalisation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # bias in x's dtype: under bf16 autocast, an fp32 bias would promote every map to fp32
        return (x + self.bias.to(x.dtype).view(1, -1, 1, 1)).relu_()


class DenseLayer(nn.Module):
    """Bottlenecked dense layer: appends `growth` new channels to its input."""

    def __init__(self, channels: int, growth: int, bottleneck: int) -> None:
        super().__init__()
        self.act_in = BiasReLU(channels)
        self.squeeze = nn.Conv2d(channels, bottleneck, 1, bias=False)
        self.act_mid = BiasReLU(bottleneck)
        self.grow = nn.Conv2d(bottleneck, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.grow(self.act_mid(self.squeeze(self.act_in(x))))
        return torch.cat([x, new], dim=1)


class FilterBlock(nn.Module):
    """`depth` dense layers, then a 1×1 convolution back to the input width."""

    def __init__(self, depth: int, channels: int, growth: int = 16) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *(DenseLayer(channels + i * growth, growth, 4 * growth) for i in range(depth))
        )
        wide = channels + depth * growth
        self.act = BiasReLU(wide)
        self.fuse = nn.Conv2d(wide, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.act(self.layers(x)))


def keys_cubic_x2_kernel() -> np.ndarray:
    """The separable 8×8 ×2 interpolation kernel: Keys cubic (a = −0.5) at half-pixel phase,
    normalised to sum to one."""
    t = np.abs(np.arange(-3.5, 4.0)) / 2.0
    taps = np.where(
        t < 1, 1.5 * t**3 - 2.5 * t**2 + 1, np.where(t < 2, -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2, 0)
    )
    taps = taps / taps.sum()
    return np.outer(taps, taps)


class ClassicUpscale(nn.Module):
    """Trainable depthwise ×2 interpolation, initialised as bicubic.

    The kernel is stored 9×9 with a zero first row and column (the authors' layout, so their
    weights load as they are); replicate padding of one pixel and a 6/5 crop align the
    transposed convolution with the half-pixel grid.
    """

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        kernel = torch.zeros(channels, 1, 9, 9)
        kernel[:, 0, 1:, 1:] = torch.from_numpy(keys_cubic_x2_kernel()).float()
        self.kernel = nn.Parameter(kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        y = F.conv_transpose2d(x, 4.0 * self.kernel, stride=2, groups=x.shape[1])
        return y[..., 6:-5, 6:-5]


def downscale_block(features: int, growth: int) -> nn.Sequential:
    """Strided 3×3 convolution, then a 4-layer filter block: halves the feature maps."""
    return nn.Sequential(
        OrderedDict(
            head=nn.Conv2d(features, features, 3, stride=2, padding=1, bias=False),
            body=FilterBlock(4, features, growth),
        )
    )


def synthesis_block(features: int, out_channels: int, growth: int) -> nn.Sequential:
    """A 3-layer filter block, then a biased 3×3 convolution to `out_channels`."""
    return nn.Sequential(
        OrderedDict(
            body=FilterBlock(3, features, growth),
            act=BiasReLU(features),
            tail=nn.Conv2d(features, out_channels, 3, padding=1),
        )
    )


class GMGBP(nn.Module):
    """G-MGBP on N×3×H×W inputs in 0..1, returning N×3×sH×sW (not clamped).

    `scale` may be any integer 2..16: powers of two run natively (one ×2 level each); other
    factors run the next power of two and shrink the result with MATLAB bicubic.
    `mu` is the number of back-projections per level; `max_depth` how many levels down a
    back-projection recurses (the authors' 3, which matters only at ×16).
    """

    def __init__(
        self,
        scale: int = 4,
        features: int = 48,
        growth: int = 16,
        mu: int = 2,
        max_depth: int = 3,
        channels: int = 3,
    ) -> None:
        super().__init__()
        if not 2 <= scale <= MAX_SCALE:
            raise ValueError(f"G-MGBP runs at x2..x{MAX_SCALE}, not x{scale}")
        self.scale = int(scale)
        self.levels = math.ceil(math.log2(scale))
        self.mu = mu
        self.max_depth = max_depth
        self.classic_upscale = ClassicUpscale(channels)
        self.analysis = nn.Sequential(
            OrderedDict(
                head=nn.Conv2d(channels, features, 3, padding=1, bias=False),
                body=FilterBlock(3, features, growth),
            )
        )
        joined = 2 * features + 1
        self.upscale = nn.Sequential(
            OrderedDict(
                body=FilterBlock(3, joined, growth),
                act=BiasReLU(joined),
                tail=nn.ConvTranspose2d(
                    joined, features, 3, stride=2, padding=1, output_padding=1, bias=False
                ),
            )
        )
        self.downscale = downscale_block(features, growth)
        self.synthesis = synthesis_block(features, channels, growth)

    @property
    def native_scale(self) -> int:
        """The power of two the network runs before any final shrink."""
        return 2**self.levels

    def noise_shapes(
        self, height: int, width: int, levels: int | None = None
    ) -> list[tuple[int, int]]:
        """Sizes of the unit noise maps for an H×W input, one per level, coarsest first
        (the padded input's size, then doubling)."""
        levels = self.levels if levels is None else levels
        pad = 2**levels
        return [((height + 2 * pad) << k, (width + 2 * pad) << k) for k in range(levels)]

    def draw_noise(
        self,
        batch: int,
        height: int,
        width: int,
        generator: torch.Generator | None = None,
        levels: int | None = None,
    ) -> list[torch.Tensor]:
        """Unit N(0, 1) noise maps (batch×1×h×w) for an H×W input, drawn coarsest first."""
        device = generator.device if generator is not None else torch.device("cpu")
        return [
            torch.randn(batch, 1, h, w, generator=generator, device=device)
            for h, w in self.noise_shapes(height, width, levels)
        ]

    def crop_noise(
        self, maps: Sequence[torch.Tensor], top: int, left: int, height: int, width: int
    ) -> list[torch.Tensor]:
        """The part of a whole image's noise maps (from `draw_noise`) that the input window
        rows top..top+height, columns left..left+width sees, padding included."""
        pad = 2 * self.native_scale
        return [
            m[..., top << k : (top + height + pad) << k, left << k : (left + width + pad) << k]
            for k, m in enumerate(maps)
        ]

    def forward(
        self,
        x: torch.Tensor,
        noise: float = 0.0,
        *,
        noise_maps: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
        levels: int | None = None,
    ) -> torch.Tensor | list[torch.Tensor]:
        """`noise` is the amplitude W. Unit noise maps come from `noise_maps` (as drawn by
        `draw_noise`, e.g. sliced from a whole image's maps) or are drawn from `generator`;
        at W = 0 without maps none are drawn.

        With `levels` given, returns the outputs of every ×2 level up to ×2^levels, each
        exactly 2^k times the input (what multi-scale training supervises); otherwise the
        image at the network's scale.
        """
        h, w = x.shape[-2:]
        if levels is not None:
            return self._levels(x, noise, noise_maps, generator, levels)
        y = self._levels(x, noise, noise_maps, generator, self.levels)[-1]
        if self.native_scale != self.scale:
            y = imresize(y, size=(h * self.scale, w * self.scale))
        return y

    def _levels(
        self,
        x: torch.Tensor,
        noise: float,
        noise_maps: Sequence[torch.Tensor] | None,
        generator: torch.Generator | None,
        levels: int,
    ) -> list[torch.Tensor]:
        h, w = x.shape[-2:]
        pad = 2**levels
        mode = "reflect" if min(h, w) > pad else "replicate"
        x = F.pad(x, (pad, pad, pad, pad), mode=mode)
        maps = self._noise_maps(x, noise, noise_maps, generator, (h, w), levels)

        feats = [self.analysis(x)]
        y = x + self.synthesis(feats[0])
        outputs = []
        for level in range(1, levels + 1):
            y = self.classic_upscale(y)
            coarse = self.downscale(self.analysis(y))
            up = self.upscale(torch.cat([feats[level - 1], coarse, maps[level - 1]], dim=1))
            lowest = max(0, level - self.max_depth)
            up = self._back_project(up, level, lowest, feats, maps)
            feats.append(up)
            y = y + self.synthesis(up)
            crop = pad << level
            outputs.append(y[..., crop:-crop, crop:-crop])
        return outputs

    def _back_project(
        self,
        hr: torch.Tensor,
        level: int,
        lowest: int,
        feats: list[torch.Tensor],
        maps: list[torch.Tensor],
    ) -> torch.Tensor:
        """μ recursive back-projection updates of level-`level` features."""
        if level <= lowest:
            return hr
        for _ in range(self.mu):
            lr = self._back_project(self.downscale(hr), level - 1, lowest, feats, maps)
            hr = hr + self.upscale(torch.cat([feats[level - 1], lr, maps[level - 1]], dim=1))
        return hr

    def _noise_maps(
        self,
        padded: torch.Tensor,
        amplitude: float,
        given: Sequence[torch.Tensor] | None,
        generator: torch.Generator | None,
        size: tuple[int, int],
        levels: int,
    ) -> list[torch.Tensor]:
        """Noise maps scaled by W, in the dtype the features will have (16 bit under autocast,
        so concatenating them does not promote whole feature maps back to float32)."""
        n = padded.shape[0]
        device = padded.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        dtype = dtype or padded.dtype
        shapes = self.noise_shapes(*size, levels)
        if given is None:
            if amplitude == 0:
                return [padded.new_zeros(n, 1, hh, ww, dtype=dtype) for hh, ww in shapes]
            given = self.draw_noise(n, *size, generator=generator, levels=levels)
        if len(given) != len(shapes):
            raise ValueError(
                f"G-MGBP with {levels} levels takes {len(shapes)} noise maps, got {len(given)}"
            )
        maps = []
        for k, (m, (hh, ww)) in enumerate(zip(given, shapes, strict=True)):
            if m.dim() != 4 or m.shape[1] != 1 or tuple(m.shape[-2:]) != (hh, ww):
                raise ValueError(
                    f"noise map {k} must be N×1×{hh}×{ww} for a {size[0]}×{size[1]} input, "
                    f"got {tuple(m.shape)}"
                )
            scaled = amplitude * m.to(device=padded.device, dtype=padded.dtype)
            maps.append(scaled.to(dtype).expand(n, 1, hh, ww))
        return maps


_TOP_LEVEL = (
    ("classic_upscale.kernel", "ClassicUpscale.weight"),
    ("analysis.head.", "Analysis.conv1."),
    ("analysis.body.", "Analysis.block."),
    ("synthesis.body.", "Synthesis.block."),
    ("synthesis.act.", "Synthesis.act4.norm."),
    ("synthesis.tail.", "Synthesis.conv4."),
    ("upscale.body.", "Upscaling.pre_up."),
    ("upscale.act.", "Upscaling.act_up.norm."),
    ("upscale.tail.", "Upscaling.conv_up."),
    ("downscale.head.", "Downscaling.conv_down."),
    ("downscale.body.", "Downscaling.post_down."),
)
_INSIDE_BLOCKS = (
    (r"\.layers\.(\d+)\.", lambda m: f".dense.denselayer{int(m[1]) + 1}."),
    (r"\.act_in\.", ".act_1.norm."),
    (r"\.squeeze\.", ".conv_1."),
    (r"\.act_mid\.", ".act_2.norm."),
    (r"\.grow\.", ".conv_2."),
    (r"^(\w+\.(?:block|pre_up|post_down))\.act\.", r"\1.transition.act.norm."),
    (r"^(\w+\.(?:block|pre_up|post_down))\.fuse\.", r"\1.transition.conv."),
)


def _authors_name(key: str) -> str:
    """Our parameter name → its name in the authors' released state dicts."""
    for ours, theirs in _TOP_LEVEL:
        if key.startswith(ours):
            key = theirs + key[len(ours):]
            break
    for pattern, replacement in _INSIDE_BLOCKS:
        key = re.sub(pattern, replacement, key)
    return key


def authors_keymap() -> KeyMap:
    """How the authors' state dicts (pnavarre/pirm-sr-2018) name our parameters."""
    return KeyMap.from_module(
        "the G-MGBP authors' release (pnavarre/pirm-sr-2018)", GMGBP(), _authors_name
    )


ARCHITECTURE = Architecture(
    name="gmgbp",
    build=GMGBP,
    spec=SPEC,
    summary="G-MGBP (Navarrete Michelini et al. 2018): x2-x16, noise amplitude W",
    foreign=(ForeignLayout(authors_keymap),),
)
