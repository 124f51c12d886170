"""CIPLAB's cut-down U-Net discriminator (after Schönfeld et al. 2020): global and per-pixel.

Encoder block: [LeakyReLU 0.1, except the first] → 3×3 conv → batch norm → 2×2 average pool.
Decoder block: LeakyReLU 0.1 → nearest ×2 → 3×3 conv → batch norm; from the second on, its
input is the previous decoder output concatenated with the encoder output of the same size
(decoder first). The encoder head (LeakyReLU, 1×1 conv) judges the image from the coarsest
map; the decoder head judges every pixel. No residual paths. 6,681,538 parameters: the
authors' classes (UnetD in kingsj0405/ciplab-NTIRE-2020's train.py) also create a second conv,
a shortcut conv and a second batch norm per block that their forward never uses (12,823,810
defined, the factsheet's "13 M"); srlab builds only the used layers. Input sides must be
multiples of 64. Initialisation as the authors: Kaiming-normal convolutions, zero biases.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.spec import Architecture

ENCODER_WIDTHS = (64, 128, 192, 256, 320, 384)
DECODER_WIDTHS = (320, 256, 192, 128, 64, 32)


class UNetJudgement(NamedTuple):
    """The discriminator's verdicts on a batch, and the features feature matching compares."""

    global_logits: torch.Tensor  # N×1×H/64×W/64, from the encoder
    pixel_logits: torch.Tensor  # N×1×H×W, from the decoder
    features: list[torch.Tensor]  # e1…e6 then d1…d6


class EncoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, preactivate: bool) -> None:
        super().__init__()
        self.preactivate = preactivate
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preactivate:
            x = F.leaky_relu(x, 0.1)
        return F.avg_pool2d(self.norm(self.conv(x)), 2)


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(F.leaky_relu(x, 0.1), scale_factor=2, mode="nearest")
        return self.norm(self.conv(x))


class UNetDiscriminator(nn.Module):
    """N×3×H×W in 0..1 → UNetJudgement (raw logits; higher means more real)."""

    def __init__(self) -> None:
        super().__init__()
        widths = (3, *ENCODER_WIDTHS)
        self.encoder = nn.ModuleList(
            EncoderBlock(cin, cout, preactivate=k > 0)
            for k, (cin, cout) in enumerate(itertools.pairwise(widths))
        )
        self.encoder_head = nn.Conv2d(ENCODER_WIDTHS[-1], 1, 1)
        skips = (0, *reversed(ENCODER_WIDTHS[:-1]))  # channels joining each decoder block
        inputs = (ENCODER_WIDTHS[-1], *DECODER_WIDTHS[:-1])
        self.decoder = nn.ModuleList(
            DecoderBlock(cin + skip, cout)
            for cin, skip, cout in zip(inputs, skips, DECODER_WIDTHS, strict=True)
        )
        self.decoder_head = nn.Conv2d(DECODER_WIDTHS[-1], 1, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> UNetJudgement:
        encoded = []
        for block in self.encoder:
            x = block(x)
            encoded.append(x)
        global_logits = self.encoder_head(F.leaky_relu(x, 0.1))
        decoded = [self.decoder[0](x)]
        for block, skip in zip(self.decoder[1:], reversed(encoded[:-1]), strict=True):
            decoded.append(block(torch.cat([decoded[-1], skip], dim=1)))
        pixel_logits = self.decoder_head(F.leaky_relu(decoded[-1], 0.1))
        return UNetJudgement(global_logits, pixel_logits, encoded + decoded)


def authors_name(key: str) -> str:
    """Our parameter name → the authors' UnetD name (their unused layers have no counterpart)."""
    key = re.sub(r"^encoder\.(\d+)\.", lambda m: f"enc_b{int(m[1]) + 1}.", key)
    key = re.sub(r"^decoder\.(\d+)\.", lambda m: f"dec_b{int(m[1]) + 1}.", key)
    key = key.replace(".conv.", ".conv1.").replace(".norm.", ".bn1.")
    return key.replace("encoder_head.", "enc_out.").replace("decoder_head.", "dec_out.")


ARCHITECTURE = Architecture(
    name="ciplab_discriminator",
    build=UNetDiscriminator,
    spec=None,
    summary="CIPLAB's U-Net discriminator: global (encoder) and per-pixel (decoder) logits "
    "plus 12 features for feature matching",
)
