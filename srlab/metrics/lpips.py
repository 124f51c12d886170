"""LPIPS v0.1 "net-lin" (Zhang et al. 2018) with our own backbones and weights from local files.

Distance = sum over five layers l of mean over positions of w_l . (f0 - f1)^2, where f are the
backbone activations after the tapped ReLUs, each unit-normalised over channels (eps 1e-10 added
to the norm), and w_l >= 0 are 1 x 1 "linear heads" without bias. Inputs are RGB, scaled to -1..1
and then by the fixed scaling layer (shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450)).

Backbones keep torchvision's ``features`` layout so its ImageNet checkpoints load unchanged:
AlexNet (convs at 0, 3, 6, 8, 10; taps after the ReLUs 1, 4, 7, 9, 11) and VGG16 (taps after
relu1_2 3, relu2_2 8, relu3_3 15, relu4_3 22, relu5_3 29). The heads use the official lpips key
layout ``lin{k}.model.1.weight``; the module's own state dict is exactly the union of the two, so a
combined file is simply ``LPIPS(...).state_dict()`` saved to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from srlab.io.state_file import read_state_file
from srlab.metrics.inputs import ImageLike, prepare_pair

__all__ = ["LPIPS", "LPIPSWeightsError", "load_state_file", "lpips_distance"]

_EPS = 1e-10
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


@dataclass(frozen=True)
class _Backbone:
    """How to build one backbone and where its weights come from."""

    build: Callable[[], list[nn.Module]]  # the layers of torchvision's ``features``, in order
    taps: tuple[int, ...]  # indices in ``features`` whose outputs feed the heads
    channels: tuple[int, ...]
    backbone_source: str
    heads_source: str


def _alexnet_layers() -> list[nn.Module]:
    """torchvision ``alexnet().features[:12]`` (the final max-pool is never used)."""
    return [
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
    ]  # fmt: skip


def _vgg16_layers() -> list[nn.Module]:
    """torchvision ``vgg16().features[:30]`` (3 x 3 convs, padding 1, each followed by a ReLU)."""
    plan = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
    layers: list[nn.Module] = []
    c_in = 3
    for item in plan:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, item, 3, padding=1), nn.ReLU()]
            c_in = item
    return layers


_BACKBONES = {
    "alex": _Backbone(
        build=_alexnet_layers,
        taps=(1, 4, 7, 9, 11),
        channels=(64, 192, 384, 256, 256),
        backbone_source="torchvision's ImageNet AlexNet checkpoint (alexnet-owt-7be5be79.pth)",
        heads_source="the lpips package's weights/v0.1/alex.pth",
    ),
    "vgg": _Backbone(
        build=_vgg16_layers,
        taps=(3, 8, 15, 22, 29),
        channels=(64, 128, 256, 512, 512),
        backbone_source="torchvision's ImageNet VGG16 checkpoint (vgg16-397923af.pth)",
        heads_source="the lpips package's weights/v0.1/vgg.pth",
    ),
}


class LPIPSWeightsError(ValueError):
    """LPIPS weight files that cannot be used (unreadable, missing keys, wrong shapes)."""


class _LinearHead(nn.Module):
    """1 x 1 convolution to one channel, no bias; at ``model.1`` as in the official key layout."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        # Index 0 is the official model's dropout slot (inactive at evaluation).
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPS(nn.Module):
    """Frozen LPIPS distance, usable as a loss: ``LPIPS.from_files(path)(x, y)`` -> shape (N,).

    ``net`` is "alex" (the protocol's default) or "vgg". ``input_range`` says how inputs are given:
    "unit" (0..1, mapped to -1..1 here) or "signed" (already -1..1). A fresh instance has random
    weights; load real ones with :meth:`from_files` or :meth:`load_files`. Parameters never require
    gradients, but gradients flow to the inputs.
    """

    def __init__(
        self,
        net: Literal["alex", "vgg"] = "alex",
        *,
        input_range: Literal["unit", "signed"] = "unit",
    ) -> None:
        super().__init__()
        if net not in _BACKBONES:
            raise ValueError(f"net must be one of {sorted(_BACKBONES)}, got {net!r}")
        if input_range not in ("unit", "signed"):
            raise ValueError(f"input_range must be 'unit' or 'signed', got {input_range!r}")
        self.spec = _BACKBONES[net]
        self.net = net
        self.input_range = input_range
        self.features = nn.Sequential(*self.spec.build())
        for k, channels in enumerate(self.spec.channels):
            self.add_module(f"lin{k}", _LinearHead(channels))
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_files(
        cls,
        *paths: str | Path,
        net: Literal["alex", "vgg"] = "alex",
        input_range: Literal["unit", "signed"] = "unit",
    ) -> LPIPS:
        """Build and load from one combined file or a backbone file plus a heads file."""
        model = cls(net, input_range=input_range)
        model.load_files(*paths)
        return model

    def load_files(self, *paths: str | Path) -> None:
        """Load weights from ``.pth`` / ``.safetensors`` files; keys not used here are ignored."""
        if not paths:
            raise ValueError("give one combined weights file or a backbone file and a heads file")
        found: dict[str, tuple[torch.Tensor, Path]] = {}
        for path in map(Path, paths):
            state = load_state_file(path, hint=self._hint())
            found.update({k: (v, path) for k, v in state.items()})
        problems = []
        for key, target in self.state_dict().items():
            if key not in found:
                problems.append(f"missing {key} {tuple(target.shape)}")
            elif found[key][0].shape != target.shape:
                value, path = found[key]
                problems.append(
                    f"{key} in {path}: shape {tuple(value.shape)}, expected {tuple(target.shape)}"
                )
        if problems:
            names = ", ".join(str(p) for p in paths)
            raise LPIPSWeightsError(
                f"LPIPS ({self.net}) weights in {names} do not fit:\n  "
                + "\n  ".join(problems)
                + f"\n{self._hint()}"
            )
        self.load_state_dict({k: found[k][0] for k in self.state_dict()})

    def _hint(self) -> str:
        return (
            f"LPIPS ({self.net}) needs the backbone from {self.spec.backbone_source}, keys "
            f"features.N.weight/bias, and the linear heads from {self.spec.heads_source}, keys "
            "lin0.model.1.weight ... lin4.model.1.weight (the PerceptualSimilarity repository); "
            "pass both files, or one file holding both."
        )

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.spec.taps:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image of two ``N x 3 x H x W`` batches, shape (N,)."""
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                f"LPIPS needs two N x 3 x H x W batches of equal shape, got {tuple(x.shape)} "
                f"and {tuple(y.shape)}"
            )
        if self.input_range == "unit":
            x, y = 2 * x - 1, 2 * y - 1
        # The scaling constants are made in the input's dtype, so float64 runs use exact decimals.
        shift = torch.tensor(_SHIFT, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        scale = torch.tensor(_SCALE, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        fx = self._taps((x - shift) / scale)
        fy = self._taps((y - shift) / scale)
        total = x.new_zeros(x.shape[0])
        for k, (a, b) in enumerate(zip(fx, fy, strict=True)):
            a = a / (torch.sqrt(torch.sum(a * a, dim=1, keepdim=True)) + _EPS)
            b = b / (torch.sqrt(torch.sum(b * b, dim=1, keepdim=True)) + _EPS)
            total = total + getattr(self, f"lin{k}")((a - b) ** 2).mean(dim=(1, 2, 3))
        return total


def load_state_file(path: str | Path, *, hint: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth`` (read with ``weights_only=True``) or ``.safetensors`` file."""
    return read_state_file(path, what="LPIPS weights", hint=hint, error=LPIPSWeightsError)


def lpips_distance(a: ImageLike, b: ImageLike, model: LPIPS, *, crop_border: int = 0) -> float:
    """LPIPS of two RGB images given as for PSNR (8-bit values after the usual conversion)."""
    x, y = prepare_pair(a, b, crop=crop_border, y_channel=False)
    if x.shape[2] != 3:
        raise ValueError("LPIPS is defined on RGB images; got a gray image")
    param = next(model.parameters())

    def batch(img: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(img / 255.0).permute(2, 0, 1)[None]
        t = t if model.input_range == "unit" else 2 * t - 1
        return t.to(device=param.device, dtype=param.dtype)

    with torch.no_grad():
        return float(model(batch(x), batch(y))[0])
