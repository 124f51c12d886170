"""SRResCGAN / SRResCycGAN's super-resolution generator G_SR (Umer et al. 2020).

A physics-inspired x4 generator for real, noisy photos (380,356 parameters): the LR image is
upsampled bilinearly, its noise level σ is estimated (WMAD), and a small residual network
predicts a correction r whose L2 norm is limited to e^α·σ·sqrt(N − 1) (a projection onto the
noise ball: the network may only remove about as much as the noise explains); the output is
clamp(x↑ − r). Convolutions are weight-normalised. Internally on the 0–255 scale like the
authors' code (RaoUmer/SRResCGAN); the module takes and returns 0..1 images like every srlab
network.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from srlab.archs.keymap import KeyMap
from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec

SPEC = ModelSpec(scales=(4,), receptive_radius=8, global_stats=True, tile_budget=2048)

# db7 wavelet high-pass decomposition filter (the authors' constants).
DB7_HIGH = (
    -0.07785205408506236, 0.39653931948230575, -0.7291320908465551, 0.4697822874053586,
    0.14390600392910627, -0.22403618499416572, -0.07130921926705004, 0.0806126091510659,
    0.03802993693503463, -0.01657454163101562, -0.012550998556013784, 0.00042957797300470274,
    0.0018016407039998328, 0.0003537138000010399,
)  # fmt: skip
MAD_TO_SIGMA = 0.6745  # median |x| of a unit normal


def wmad_sigma(image255: torch.Tensor) -> torch.Tensor:
    """Noise standard deviation (0–255 scale) of each image of an N×C×H×W batch on the 0–255
    scale: the median absolute db7 HH wavelet coefficient / 0.6745, averaged over channels.

    As the authors: vertical then horizontal filtering, stride 2, reflect padding of 7, and
    torch's lower median for even counts.
    """
    x = image255 / 255.0
    c = x.shape[1]
    taps = torch.tensor(DB7_HIGH, dtype=x.dtype, device=x.device).view(1, 1, -1, 1)
    taps = taps.expand(c, 1, -1, 1)
    half = len(DB7_HIGH) // 2
    hh = F.conv2d(F.pad(x, (0, 0, half, half), mode="reflect"), taps, stride=(2, 1), groups=c)
    hh = F.pad(hh, (half, half, 0, 0), mode="reflect").transpose(2, 3)
    hh = F.conv2d(hh, taps, stride=(2, 1), groups=c)
    medians = hh.flatten(2).abs().median(dim=2).values  # N×C
    return (medians / MAD_TO_SIGMA).mean(dim=1) * 255.0


def l2_projection(residual: torch.Tensor, sigma: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """`residual` scaled (per sample) into the ball of radius e^α·σ·sqrt(N − 1), N = C·H·W."""
    n = residual[0].numel()
    radius = (torch.exp(alpha) * sigma * math.sqrt(n - 1)).view(-1, 1, 1, 1)
    norm = residual.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return residual * (radius / torch.maximum(norm, radius))


class PreActBlock(nn.Module):
    """PReLU → reflect-padded weight-normalised 3×3 conv, twice; with or without identity."""

    def __init__(self, features: int, skip: bool) -> None:
        super().__init__()
        self.skip = skip
        self.act1 = nn.PReLU(features, init=0.1)
        self.conv1 = weight_norm(nn.Conv2d(features, features, 3))
        self.act2 = nn.PReLU(features, init=0.1)
        self.conv2 = weight_norm(nn.Conv2d(features, features, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.pad(self.act1(x), (1, 1, 1, 1), mode="reflect"))
        out = self.conv2(F.pad(self.act2(out), (1, 1, 1, 1), mode="reflect"))
        return x + out if self.skip else out


class SRResCGANGenerator(nn.Module):
    """G_SR on N×3×H×W images in 0..1, returning N×3×4H×4W in 0..1.

    `sigma` (one value per image, 0–255 scale) overrides the noise estimate: the tiler passes
    the whole image's estimate to every tile so that tiles agree (`image_statistics`).
    """

    def __init__(self, scale: int = 4, features: int = 64, blocks: int = 5) -> None:
        super().__init__()
        if scale != 4:
            raise ValueError(f"SRResCGAN's generator is trained for x4, not x{scale}")
        self.scale = scale
        self.encoder = weight_norm(nn.Conv2d(3, features, 5))
        self.blocks = nn.Sequential(*(PreActBlock(features, skip=i > 0) for i in range(blocks)))
        self.decoder = weight_norm(nn.ConvTranspose2d(features, 3, 5, padding=2))
        self.alpha = nn.Parameter(torch.tensor([math.log(2.0)]))

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        """Bilinear ×4 (align_corners=False) on the 0–255 scale: the image G_SR corrects."""
        return F.interpolate(x * 255.0, scale_factor=self.scale, mode="bilinear",
                             align_corners=False)

    def image_statistics(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Whole-image facts every tile must share: the noise level σ of each image."""
        return {"sigma": wmad_sigma(self.upsample(x.float())).detach()}

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        up = self.upsample(x)
        if sigma is None:
            sigma = wmad_sigma(up.float()).detach()
        residual = self.decoder(self.blocks(self.encoder(F.pad(up, (2, 2, 2, 2), mode="reflect"))))
        residual = l2_projection(residual, sigma.to(residual.dtype), self.alpha)
        return (up - residual).clamp(0.0, 255.0) / 255.0


def _authors_name(key: str) -> str:
    """Our parameter name → its name in the authors' G_SR state dicts."""
    if key == "alpha":
        return key
    key = key.replace(".parametrizations.weight.original0", ".weight_g")
    key = key.replace(".parametrizations.weight.original1", ".weight_v")
    key = key.replace("encoder.", "model.conv1.", 1).replace("decoder.", "model.conv_out.", 1)
    key = key.replace("blocks.", "model.layer1.", 1)
    return key.replace(".act1.", ".relu1.").replace(".act2.", ".relu2.")


def authors_keymap() -> KeyMap:
    """How the authors' G_SR releases (RaoUmer/SRResCGAN, old-style weight_norm) name ours."""
    return KeyMap.from_module(
        "the SRResCGAN authors' G_SR (RaoUmer/SRResCGAN)", SRResCGANGenerator(), _authors_name
    )


ARCHITECTURE = Architecture(
    name="srrescgan",
    build=SRResCGANGenerator,
    spec=SPEC,
    summary="SRResCGAN/SRResCycGAN generator G_SR (Umer et al. 2020): x4, real photos",
    foreign=(ForeignLayout(authors_keymap),),
)
