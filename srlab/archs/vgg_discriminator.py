"""ESRGAN's VGG-style discriminator ("VGG-128"; Wang et al. 2018, docs/architectures.md §6.1).

Ten convolutions in five stages (64, 128, 256, 512, 512 channels; the second conv of each stage
is 4×4 with stride 2), batch norm after all but the first, LeakyReLU(0.2), then
Linear(512·(H/32)·(W/32) → 100) → LeakyReLU → Linear(100 → 1). With `conv_bias=False` (BasicSR,
SRResCycGAN's D_x) it has 14,499,401 parameters at 128²; biased convs (older ESRGAN code,
Fast-SRFBN) add 2,880. `high_pass=9` makes it SRResCycGAN's D_x, which judges the high-pass
view of its input (`blocks.HighPass`, 9×9 box, padding counted). `attention=True` inserts
SAGAN self-attention after the 128- and 512-channel stages (Fast-SRFBN's discriminator: with
`input_size=384, conv_bias=True` it has 21,404,843 parameters, the authors' layout index for
index).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.blocks import HighPass
from srlab.archs.spec import Architecture

STAGE_WIDTHS = (64, 128, 256, 512, 512)


class VGGStyleDiscriminator(nn.Module):
    """Real/fake logit (N×1) for N×3×S×S patches, S a multiple of 32 (`input_size`)."""

    def __init__(
        self,
        input_size: int = 128,
        features: int = 64,
        conv_bias: bool = False,
        high_pass: int | None = None,
        attention: bool = False,
    ) -> None:
        super().__init__()
        self.high_pass = HighPass(high_pass, count_pad=True) if high_pass else nn.Identity()
        if input_size % 32:
            raise ValueError(f"input_size must be a multiple of 32, got {input_size}")
        widths = [features * w // 64 for w in STAGE_WIDTHS]
        layers: list[nn.Module] = [
            nn.Conv2d(3, widths[0], 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        cin = widths[0]
        for i, width in enumerate(widths):
            if i > 0:
                layers += _conv_bn(cin, width, 3, 1, conv_bias)
            layers += _conv_bn(width, width, 4, 2, conv_bias)
            if attention and i in (1, 3):
                layers.append(SelfAttention(width))
            cin = width
        self.features = nn.Sequential(*layers)
        side = input_size // 32
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * side * side, 100),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(100, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.high_pass(x)))


class SelfAttention(nn.Module):
    """SAGAN self-attention: every position attends to every other (softmax of unscaled
    query·key products, as the authors), the result is added back with a learned gain γ
    (zero at init, so the layer starts as the identity)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)
        k = self.key(x).flatten(2).transpose(1, 2)
        v = self.value(x).flatten(2).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0)  # memory-efficient kernels
        return self.gamma * out.transpose(1, 2).reshape(n, c, h, w) + x


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, bias: bool) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, padding=1, bias=bias),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2, inplace=True),
    ]


def fast_srfbn_authors_name(key: str) -> str:
    """Our name → the Fast-SRFBN authors' (their attention convs are `*_conv`; their classifier
    has no Flatten module, so its layers sit one index lower)."""
    for ours in ("query", "key", "value"):
        key = key.replace(f".{ours}.", f".{ours}_conv.")
    for ours, theirs in (("classifier.1.", "classifier.0."), ("classifier.3.", "classifier.2.")):
        key = key.replace(ours, theirs)
    return key


ARCHITECTURE = Architecture(
    name="vgg_discriminator",
    build=VGGStyleDiscriminator,
    spec=None,
    summary="ESRGAN VGG-style discriminator (VGG-128; input_size multiple of 32); "
    "high_pass=9 for SRResCycGAN's D_x",
)
