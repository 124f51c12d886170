"""Our own VGG19 (no batch norm) feature extractor in torchvision's ``features`` layout.

Indices in ``features`` (as torchvision): conv1_1 0, conv1_2 2, pool1 4, conv2_1 5, conv2_2 7,
pool2 9, conv3_1 10 ... conv3_4 16, pool3 18, conv4_1 19 ... conv4_4 25, pool4 27, conv5_1 28 ...
conv5_4 34, pool5 36; the ReLU after convX_Y is ``reluX_Y`` at the conv's index + 1. A name
"convX_Y" is the pre-activation output (ESRGAN's "conv5_4 before activation"), "reluX_Y" the
post-activation one. ImageNet weights come from a local file in torchvision's state-dict layout
(``features.N.weight`` / ``features.N.bias``); there is no download.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from srlab.io.state_file import read_state_file

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LAYER_INDEX",
    "VGG19Features",
    "VGGInputRange",
    "VGGWeightsError",
    "load_vgg19_weights",
    "vgg19_layers",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Output channels of the convolutions of each block; a max-pool closes every block.
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512))

WEIGHTS_SOURCE = (
    "expected torchvision's ImageNet VGG19 state dict (e.g. vgg19-dcbb9e9d.pth, the file "
    "torchvision.models.vgg19(weights='IMAGENET1K_V1') downloads) as .pth or .safetensors, "
    "keys features.N.weight / features.N.bias"
)

VGGInputRange = Literal["unit", "255", "raw255"]
_INPUT_RANGES = ("unit", "255", "raw255")


class VGGWeightsError(ValueError):
    """A VGG19 weights file that cannot be used (unreadable, missing keys, wrong shapes)."""


def _plan() -> list[tuple[int, int] | str]:
    """Per index of ``features``: (in, out) channels of a conv, else "relu" or "pool"."""
    plan: list[tuple[int, int] | str] = []
    c_in = 3
    for block in _BLOCKS:
        for c_out in block:
            plan += [(c_in, c_out), "relu"]
            c_in = c_out
        plan.append("pool")
    return plan


_PLAN = _plan()


def vgg19_layers(last_index: int = len(_PLAN) - 1) -> list[nn.Module]:
    """torchvision's ``vgg19().features[: last_index + 1]`` (37 modules; ReLUs not in place)."""
    layers: list[nn.Module] = []
    for entry in _PLAN[: last_index + 1]:
        if entry == "pool":
            layers.append(nn.MaxPool2d(2, 2))
        elif entry == "relu":
            layers.append(nn.ReLU())
        else:
            layers.append(nn.Conv2d(*entry, 3, padding=1))
    return layers


def _layer_index() -> dict[str, int]:
    names: dict[str, int] = {}
    index = 0
    for b, block in enumerate(_BLOCKS, start=1):
        for i in range(1, len(block) + 1):
            names[f"conv{b}_{i}"] = index
            names[f"relu{b}_{i}"] = index + 1
            index += 2
        names[f"pool{b}"] = index
        index += 1
    return names


LAYER_INDEX: dict[str, int] = _layer_index()


def _conv_shapes(last_index: int) -> dict[str, tuple[int, ...]]:
    """torchvision keys and shapes of every conv parameter at an index <= ``last_index``."""
    shapes: dict[str, tuple[int, ...]] = {}
    for index, entry in enumerate(_PLAN[: last_index + 1]):
        if isinstance(entry, tuple):
            c_in, c_out = entry
            shapes[f"features.{index}.weight"] = (c_out, c_in, 3, 3)
            shapes[f"features.{index}.bias"] = (c_out,)
    return shapes


def load_vgg19_weights(
    path: str | Path, *, last_index: int = len(_PLAN) - 1
) -> dict[str, torch.Tensor]:
    """The ``features`` parameters up to ``last_index`` of a torchvision VGG19 weights file.

    Accepts ``.pth`` / ``.pt`` (read with ``torch.load(weights_only=True)``) and ``.safetensors``.
    Keys are returned without the ``features.`` prefix, ready for ``nn.Sequential.load_state_dict``;
    other keys (the classifier) are ignored. Raises ``FileNotFoundError`` or
    :class:`VGGWeightsError` with a one-line message naming the file.
    """
    path = Path(path)
    state = read_state_file(
        path, what="VGG19 weights", hint=WEIGHTS_SOURCE, error=VGGWeightsError
    )
    missing, wrong = [], []
    for key, shape in _conv_shapes(last_index).items():
        value = state.get(key)
        if not isinstance(value, torch.Tensor):
            missing.append(key)
        elif tuple(value.shape) != shape:
            wrong.append(f"{key} {tuple(value.shape)} (expected {shape})")
    if missing:
        raise VGGWeightsError(
            f"VGG19 weights file {path} lacks {', '.join(missing)}; {WEIGHTS_SOURCE}"
        )
    if wrong:
        raise VGGWeightsError(
            f"VGG19 weights file {path} has wrong shapes: {', '.join(wrong)}; {WEIGHTS_SOURCE}"
        )
    return {key.removeprefix("features."): state[key].float() for key in _conv_shapes(last_index)}


def _check_names(layers: Iterable[str]) -> list[str]:
    names = list(layers)
    if not names:
        raise ValueError("request at least one VGG19 layer, e.g. 'conv5_4' or 'relu3_4'")
    unknown = [n for n in names if n not in LAYER_INDEX]
    if unknown:
        raise ValueError(
            f"unknown VGG19 layer name(s) {unknown}; use convB_I, reluB_I (B = 1..5) or poolB"
        )
    return names


class VGG19Features(nn.Module):
    """Frozen VGG19 returning the requested layers' outputs: ``{name: N x C x h x w}``.

    Inputs are ImageNet-normalised, (x - mean) / std per RGB channel, after bringing them to the
    0..1 scale according to ``input_range``:
    - "unit": x is on 0..1 (correct use);
    - "255": x is on 0..255 and is divided by 255 first (correct use for 0–255 models);
    - "raw255": x is on 0..255 and is normalised *without* dividing, the quirk of the Fast-SRFBN and
      SRResCGAN authors whose perceptual weights were tuned with it (docs/architectures.md §1.6).
    Only the layers up to the deepest requested one are built and run. Parameters never require
    gradients (gradients still flow to the input) and the module is in eval mode.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        layers: Sequence[str],
        weights_path: str | Path,
        *,
        input_range: VGGInputRange = "unit",
    ) -> None:
        super().__init__()
        if input_range not in _INPUT_RANGES:
            raise ValueError(f"input_range must be one of {_INPUT_RANGES}, got {input_range!r}")
        self.layers = tuple(_check_names(layers))
        self.input_range = input_range
        last = max(LAYER_INDEX[n] for n in self.layers)
        state = load_vgg19_weights(weights_path, last_index=last)
        with torch.device("meta"):  # skip the random init that the weights replace
            self.features = nn.Sequential(*vgg19_layers(last))
        self.features.load_state_dict(state, assign=True)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._taps = {LAYER_INDEX[n]: n for n in self.layers}
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG19 needs an N x 3 x H x W RGB batch, got {tuple(x.shape)}")
        if self.input_range == "255":
            x = x / 255.0
        x = (x - self.mean) / self.std
        out = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._taps:
                out[self._taps[index]] = x
        return out
