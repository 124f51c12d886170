"""ESRGAN's residual-in-residual dense blocks (Wang et al. 2018) and the RRDBNet built from them.

An RDB is five 3×3 convolutions, each seeing the block input and every earlier output (dense
connections, growth `gc` channels, LeakyReLU 0.2), scaled by 0.2 onto its input; an RRDB chains
three RDBs and again adds 0.2 of the result to its input. RRDBNet: a head convolution, a trunk
of RRDBs plus a convolution with a long skip, two nearest ×2 + convolution stages, and two tail
convolutions. With 23 blocks, 64 features and growth 32 at ×4: 16,697,987 parameters.

Parameter names are BasicSR's (xinntao/BasicSR `RRDBNet`), the names most community checkpoints
(BasicSR, Real-ESRGAN and their fine-tunes) use, so srlab's RRDBNet files open in those tools
and theirs load here as they are. Like BasicSR, the ×2 and ×1 networks are the ×4 network on a
pixel-unshuffled input (Real-ESRGAN's x2plus: 12 input channels; ×1: 48), so their input sizes
must be multiples of 2 and 4. Works on the 0–1 scale; takes and returns RGB.

Foreign layouts read build options (scale, width, growth, block count) off the tensors: BasicSR /
Real-ESRGAN, ESRGAN's `RRDBNet_arch.py` (`RRDB_trunk`, `trunk_conv`, `upconv1`, `HRconv`), and
ESRGAN's original sequential layout (`model.0`, `model.1.sub.N.RDB1.conv1.0`, ..., `model.10`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.keymap import KeyMap
from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec

# The trunk's theoretical reach is ~350 LR pixels (23 × 15 convolutions), far beyond any tile
# overlap; its weight decays fast (Real-ESRGAN tiles with 10 pixels of context by default), and
# 16 pixels keep tiles within a level of the whole image. The x2 and x1 networks run the trunk
# at 1/2 and 1/4 of their input resolution, so their radius in input pixels is 2 and 4 times it.
SPEC = ModelSpec(scales=(4, 2, 1), receptive_radius=16, tile_budget=1024)
# BasicSR's convention: the ×4 network on a pixel-unshuffled input gives ×2 and ×1.
UNSHUFFLE = {4: 1, 2: 2, 1: 4}


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def nearest_x2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3×3 convolutions; returns input + 0.2 · the last one's output."""

    def __init__(self, features: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.conv1 = conv3x3(features, growth)
        self.conv2 = conv3x3(features + growth, growth)
        self.conv3 = conv3x3(features + 2 * growth, growth)
        self.conv4 = conv3x3(features + 3 * growth, growth)
        self.conv5 = conv3x3(features + 4 * growth, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            seen.append(lrelu(conv(torch.cat(seen, dim=1))))
        return self.conv5(torch.cat(seen, dim=1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks; returns input + 0.2 · their result (719,424 parameters at
    64 features, growth 32)."""

    def __init__(self, features: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(features, growth)
        self.rdb2 = ResidualDenseBlock(features, growth)
        self.rdb3 = ResidualDenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


def rrdb_trunk(features: int, growth: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*(RRDB(features, growth) for _ in range(blocks)))


class RRDBNet(nn.Module):
    """N×3×H×W in 0..1 → N×3×sH×sW (not clamped); s = 4, 2 or 1 (H, W multiples of 4/s)."""

    def __init__(
        self, scale: int = 4, features: int = 64, growth: int = 32, blocks: int = 23
    ) -> None:
        super().__init__()
        if scale not in UNSHUFFLE:
            raise ValueError(f"RRDBNet runs at x4, x2 or x1, not x{scale}")
        self.scale = scale
        self.unshuffle = UNSHUFFLE[scale]
        self.conv_first = conv3x3(3 * self.unshuffle**2, features)
        self.body = rrdb_trunk(features, growth, blocks)
        self.conv_body = conv3x3(features, features)
        self.conv_up1 = conv3x3(features, features)
        self.conv_up2 = conv3x3(features, features)
        self.conv_hr = conv3x3(features, features)
        self.conv_last = conv3x3(features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = lrelu(self.conv_up1(nearest_x2(feat)))
        feat = lrelu(self.conv_up2(nearest_x2(feat)))
        return self.conv_last(lrelu(self.conv_hr(feat)))


def _spec_for_build(spec: ModelSpec, options: Mapping[str, Any]) -> ModelSpec:
    """The ×2 and ×1 networks unshuffle their input: its sides must be multiples of 2 and 4,
    and the trunk's reach in input pixels grows as much."""
    factor = UNSHUFFLE[options.get("scale", 4)]
    return replace(
        spec, size_multiple=factor, receptive_radius=spec.receptive_radius * factor
    )


# --- foreign layouts -------------------------------------------------------------------------

_BLOCK_KEY = re.compile(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(weight|bias)$")


def _esrgan_name(key: str) -> str:
    """Our name → ESRGAN's `RRDBNet_arch.py` name (xinntao/ESRGAN, and CIPLAB's first half)."""
    for ours, theirs in (
        ("body.", "RRDB_trunk."),
        ("conv_body.", "trunk_conv."),
        ("conv_up1.", "upconv1."),
        ("conv_up2.", "upconv2."),
        ("conv_hr.", "HRconv."),
    ):
        if key.startswith(ours):
            key = theirs + key[len(ours):]
            break
    return re.sub(r"\.rdb(\d)\.", r".RDB\1.", key)


def _original_esrgan_namer(blocks: int) -> Callable[[str], str]:
    """Our name → ESRGAN's original sequential layout (`model.N`; every conv a Sequential)."""
    tops = {
        "conv_first": "model.0",
        "conv_body": f"model.1.sub.{blocks}",
        "conv_up1": "model.3",
        "conv_up2": "model.6",
        "conv_hr": "model.8",
        "conv_last": "model.10",
    }

    def rename(key: str) -> str:
        block = _BLOCK_KEY.match(key)
        if block:
            n, rdb, conv, kind = block.groups()
            return f"model.1.sub.{n}.RDB{rdb}.conv{conv}.0.{kind}"
        top, kind = key.rsplit(".", 1)
        return f"{tops[top]}.{kind}"

    return rename


def _keymap(source: str, rename: Callable[[str], str], **options: Any) -> KeyMap:
    with torch.device("meta"):  # only the names and shapes are needed
        return KeyMap.from_module(source, RRDBNet(**options), rename)


def basicsr_keymap(**options: Any) -> KeyMap:
    """BasicSR / Real-ESRGAN checkpoints (x4plus, x2plus, anime_6B, ...): our own names."""
    return _keymap("BasicSR / Real-ESRGAN RRDBNet (xinntao/BasicSR)", lambda k: k, **options)


def esrgan_keymap(**options: Any) -> KeyMap:
    """ESRGAN's released RRDB_ESRGAN_x4 / RRDB_PSNR_x4 and their fine-tunes."""
    return _keymap("ESRGAN RRDBNet (xinntao/ESRGAN)", _esrgan_name, **options)


def original_esrgan_keymap(**options: Any) -> KeyMap:
    """ESRGAN's first releases and the community models trained with its old code."""
    rename = _original_esrgan_namer(options.get("blocks", 23))
    return _keymap("ESRGAN RRDBNet, original layout (model.N)", rename, **options)


def detect_options(
    state: Mapping[str, torch.Tensor], first_rdb: re.Pattern[str]
) -> dict[str, Any] | None:
    """Width, growth and block count of an RRDB trunk whose block n's first dense block has keys
    starting with a match of `first_rdb` (group 1 = n), read off the tensors (the first dense
    convolution of any block: growth × width × 3 × 3); None when the state has no such trunk."""
    indices, probes = set(), []
    for key, tensor in state.items():
        found = first_rdb.match(key)
        if found:
            indices.add(int(found[1]))
            rest = key[found.end():]
            if rest in ("conv1.weight", "conv1.0.weight") and tensor.dim() == 4:
                probes.append(tensor)
    if not probes:
        return None
    growth, features = probes[0].shape[:2]
    return {"features": features, "growth": growth, "blocks": max(indices) + 1}


def _detector(
    head: str, first_rdb: str, foreign: tuple[str, ...]
) -> Callable[[Mapping[str, torch.Tensor]], dict[str, Any] | None]:
    """Build options of an RRDBNet in a layout that names its head convolution's weight `head`
    and whose block n's first dense block has keys starting with a match of `first_rdb`.
    The scale comes from the head's input channels (3, 12 or 48: ×4, ×2, ×1; anything else is
    left to the shape check to name). States with keys starting with any of `foreign` (a second
    trunk, a third upsampling: CIPLAB's x16, x8 variants) are another network."""
    pattern = re.compile(first_rdb)

    def detect(state: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
        if any(k.startswith(foreign) for k in state):
            return None
        options = detect_options(state, pattern)
        if options is None:
            return None
        weight = state.get(head)
        channels = weight.shape[1] if weight is not None and weight.dim() == 4 else 3
        scale = {3 * u * u: s for s, u in UNSHUFFLE.items()}.get(channels, 4)
        return {"scale": scale, **options}

    return detect


ARCHITECTURE = Architecture(
    name="rrdbnet",
    build=RRDBNet,
    spec=SPEC,
    summary="ESRGAN/BasicSR RRDBNet (Wang et al. 2018): x4, x2/x1 on unshuffled input; "
    "loads BasicSR, Real-ESRGAN and ESRGAN checkpoints",
    foreign=(
        ForeignLayout(
            basicsr_keymap,
            _detector("conv_first.weight", r"body\.(\d+)\.rdb1\.", ("conv_up3.",)),
        ),
        ForeignLayout(
            esrgan_keymap,
            _detector(
                "conv_first.weight", r"RRDB_trunk\.(\d+)\.RDB1\.", ("RRDB_trunk2.", "upconv3.")
            ),
        ),
        ForeignLayout(
            original_esrgan_keymap,
            _detector("model.0.weight", r"model\.1\.sub\.(\d+)\.RDB1\.", ()),
        ),
    ),
    refine_spec=_spec_for_build,
)
