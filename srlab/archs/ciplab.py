"""CIPLAB's ×16 generator (NTIRE 2020 perceptual extreme SR): ESRGAN's RRDBNet run twice.

Trunk 1 (RRDBs + a convolution with a long skip) at LR resolution, ×4 by two nearest ×2 +
convolution + LeakyReLU stages and an HR convolution without activation; trunk 2 at 4× the LR
resolution, ×4 again, and two tail convolutions (methods of the authors' `RRDBNetx4x4`,
kingsj0405/ciplab-NTIRE-2020). With 23 blocks per trunk, 64 features, growth 32: 33,392,451
parameters. PyTorch's default initialisation, as the authors (ESRGAN's ×0.1 scaling is off in
their code). Works on the 0–1 scale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from srlab.archs.keymap import KeyMap
from srlab.archs.rrdb import conv3x3, detect_options, lrelu, nearest_x2, rrdb_trunk
from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec

# Trunk 2 runs at 4× the LR resolution and the tail at 16×: a tile of 64 LR pixels (96 with its
# context) would hold 384² × 192-channel concatenations in trunk 2 and 1536² × 64 maps in the
# tail (about 0.6 GB each in float32); the default, 32 (64 with context), a quarter of that,
# keeps a 1020×678 photo at ×16 within 1.1 GiB (bench/x16_memory.py). Receptive radius as
# RRDBNet's (see rrdb.py).
SPEC = ModelSpec(scales=(16,), receptive_radius=16, tile_budget=512)


class CIPLABGenerator(nn.Module):
    """N×3×H×W in 0..1 → N×3×16H×16W (not clamped)."""

    def __init__(
        self, scale: int = 16, features: int = 64, growth: int = 32, blocks: int = 23
    ) -> None:
        """`blocks`: RRDBs in each of the two trunks."""
        super().__init__()
        if scale != 16:
            raise ValueError(f"the CIPLAB generator runs at x16 only, not x{scale}")
        self.scale = scale
        self.conv_first = conv3x3(3, features)
        self.body1 = rrdb_trunk(features, growth, blocks)
        self.conv_body1 = conv3x3(features, features)
        self.conv_up1 = conv3x3(features, features)
        self.conv_up2 = conv3x3(features, features)
        self.conv_hr1 = conv3x3(features, features)
        self.body2 = rrdb_trunk(features, growth, blocks)
        self.conv_body2 = conv3x3(features, features)
        self.conv_up3 = conv3x3(features, features)
        self.conv_up4 = conv3x3(features, features)
        self.conv_hr2 = conv3x3(features, features)
        self.conv_last = conv3x3(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body1(self.body1(feat))
        feat = lrelu(self.conv_up1(nearest_x2(feat)))
        feat = lrelu(self.conv_up2(nearest_x2(feat)))
        feat = self.conv_hr1(feat)  # no activation: the second trunk's skip starts here
        feat = feat + self.conv_body2(self.body2(feat))
        feat = lrelu(self.conv_up3(nearest_x2(feat)))
        feat = lrelu(self.conv_up4(nearest_x2(feat)))
        return self.conv_last(lrelu(self.conv_hr2(feat)))


_AUTHORS_TOP = {
    "body1": "RRDB_trunk",
    "conv_body1": "trunk_conv",
    "conv_up1": "upconv1",
    "conv_up2": "upconv2",
    "conv_hr1": "HRconv",
    "body2": "RRDB_trunk2",
    "conv_body2": "trunk_conv2",
    "conv_up3": "upconv3",
    "conv_up4": "upconv4",
    "conv_hr2": "HRconv2",
}


def _authors_name(key: str) -> str:
    """Our parameter name → its name in the authors' `RRDBNetx4x4` state dict."""
    top, rest = key.split(".", 1)
    rest = re.sub(r"\.rdb(\d)\.", r".RDB\1.", f".{rest}")
    return _AUTHORS_TOP.get(top, top) + rest


def authors_keymap(**options: Any) -> KeyMap:
    """How the authors' `RRDBNetx4x4(3, 3, nf, nb, gc)` names ours."""
    with torch.device("meta"):  # only the names and shapes are needed
        module = CIPLABGenerator(**options)
    return KeyMap.from_module(
        "the CIPLAB authors' x16 generator (kingsj0405/ciplab-NTIRE-2020)", module, _authors_name
    )


_AUTHORS_BLOCK = re.compile(r"RRDB_trunk\.(\d+)\.RDB1\.")


def _detect_authors(state: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
    """Width, growth and blocks per trunk of a state dict in the authors' layout; None without
    a second trunk (ESRGAN's x4 RRDBNet has the same names for the first)."""
    if not any(k.startswith("RRDB_trunk2.") for k in state):
        return None
    return detect_options(state, _AUTHORS_BLOCK)


ARCHITECTURE = Architecture(
    name="ciplab",
    build=CIPLABGenerator,
    spec=SPEC,
    summary="CIPLAB (NTIRE 2020 x16): ESRGAN RRDBNet twice, trunk 2 at 4x the LR resolution",
    foreign=(ForeignLayout(authors_keymap, _detect_authors),),
)
