"""Fast-SRFBN (team sysu-AIR, NTIRE 2020 extreme ×16): a feedback network built from IMDN blocks.

One LR feature extractor, then a recurrent block run T times: at step t it compresses the LR
features concatenated with its own previous output (the feedback), refines them with a stack of
information-multi-distillation blocks (IMDB) with contrast-aware channel attention, and a
transposed convolution plus a 3×3 convolution reconstruct a residual over the bilinear ×s image.
Every step emits an image (all are supervised in training; the last is the result). Works on the
0–255 scale internally like the authors' code (jzrita/NTIRE2020_sysu-AIR); takes and returns 0..1
images. With the authors' settings (64 features, T = 4, 6 IMDBs, ×16): 2,099,625 parameters, 24
of them the frozen mean shifts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.blocks import MeanShift
from srlab.archs.keymap import KeyMap
from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec

# The channel attention pools over whole feature maps, so tiles see slightly different
# statistics than the whole image (docs/architectures.md §1.13); they are not shared between tiles.
# Default tiles of 512 HR pixels (32 LR at x16): a tile of 64 LR pixels alone peaks at 1.48 GiB in
# float32 at x16, one of 32 keeps a 16320x10848 output within 1.1 GiB (bench/x16_memory.py).
SPEC = ModelSpec(
    scales=(16, 2, 3, 4, 8), multi_output=True, receptive_radius=16, tile_budget=512
)
# Transposed-convolution (kernel, stride, padding) per scale: output = s·input exactly.
UPSAMPLERS = {2: (6, 2, 2), 3: (7, 3, 2), 4: (8, 4, 2), 8: (12, 8, 2), 16: (20, 16, 2)}


def _conv_prelu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2), nn.PReLU(1, 0.2))


class ContrastChannelAttention(nn.Module):
    """Channel weights from each channel's contrast (spatial std + mean), via a 1×1 bottleneck.

    Pools over the whole map: tiles see different statistics than the whole image.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        weights = torch.sigmoid(self.expand(F.relu(self.reduce(std + mean))))
        return x * weights


class IMDB(nn.Module):
    """Information multi-distillation block: three split steps keep a quarter of the channels
    each, a fourth conv makes the last quarter; attention, 1×1 fusion and a residual."""

    def __init__(self, channels: int, distillation: float = 0.25) -> None:
        super().__init__()
        self.kept = int(channels * distillation)
        rest = channels - self.kept
        self.c1 = _conv_prelu(channels, channels, 1)
        self.c2 = _conv_prelu(rest, channels, 3)
        self.c3 = _conv_prelu(rest, channels, 3)
        self.c4 = nn.Conv2d(rest, self.kept, 3, padding=1)
        self.attention = ContrastChannelAttention(4 * self.kept)
        self.c5 = nn.Conv2d(4 * self.kept, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept = []
        out = x
        for conv in (self.c1, self.c2, self.c3):
            y = conv(out)
            keep, out = torch.split(y, (self.kept, y.shape[1] - self.kept), dim=1)
            kept.append(keep)
        kept.append(self.c4(out))
        return self.c5(self.attention(torch.cat(kept, dim=1))) + x


class FeedbackBlock(nn.Module):
    """compress(concat[LR features, previous output]) → IMDB stack; the output is fed back."""

    def __init__(self, features: int, blocks: int) -> None:
        super().__init__()
        self.compress = _conv_prelu(2 * features, features, 1)
        self.blocks = nn.Sequential(*(IMDB(features) for _ in range(blocks)))

    def forward(self, features: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.compress(torch.cat([features, hidden], dim=1)))


class FastSRFBN(nn.Module):
    """N×3×H×W in 0..1 → the list of T images N×3×sH×sW (0..1 scale, not clamped)."""

    def __init__(
        self, scale: int = 16, features: int = 64, steps: int = 4, blocks: int = 6,
        init: str = "default",
    ) -> None:
        """`init`: "default" keeps PyTorch's initialisation; "authors" is theirs (Kaiming-normal,
        fan-in, ReLU gain on every convolution and transposed convolution, zero biases)."""
        super().__init__()
        if init not in ("default", "authors"):
            raise ValueError(f"Fast-SRFBN init is 'default' or 'authors', not {init!r}")
        if scale not in UPSAMPLERS:
            known = ", x".join(map(str, UPSAMPLERS))
            raise ValueError(f"Fast-SRFBN runs at x{known}, not x{scale}")
        self.scale = scale
        self.steps = steps
        self.sub_mean = MeanShift(value_range=255.0, sign=-1)
        self.head = _conv_prelu(3, 4 * features, 3)
        self.squeeze = _conv_prelu(4 * features, features, 1)
        self.feedback = FeedbackBlock(features, blocks)
        kernel, stride, padding = UPSAMPLERS[scale]
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(features, features, kernel, stride, padding), nn.PReLU(1, 0.2)
        )
        self.tail = nn.Conv2d(features, 3, 3, padding=1)
        self.add_mean = MeanShift(value_range=255.0, sign=1)
        if init == "authors":
            self._authors_init()

    def _authors_init(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d) and not isinstance(
                module, MeanShift
            ):
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor, *, last_only: bool = False) -> list[torch.Tensor]:
        """Every step's image, or with `last_only` just the last one (inference: the feedback
        does not need the images, so the costly ×s reconstruction runs once)."""
        x = self.sub_mean(x * 255.0)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        features = self.squeeze(self.head(x))
        hidden = features
        outputs = []
        for step in range(self.steps):
            hidden = self.feedback(features, hidden)
            if not last_only or step == self.steps - 1:
                outputs.append(self.add_mean(base + self.tail(self.upsample(hidden))) / 255.0)
        return outputs


def _authors_name(key: str) -> str:
    """Our parameter name → its name in the authors' SRFBN state dict."""
    for ours, theirs in (
        ("head.", "conv_in."),
        ("squeeze.", "feat_in."),
        ("feedback.compress.", "block.compress_in."),
        ("feedback.blocks.", "block.IMDMs."),
        ("upsample.", "out."),
        ("tail.", "conv_out.0."),
    ):
        if key.startswith(ours):
            key = theirs + key[len(ours):]
            break
    key = key.replace(".attention.reduce.", ".cca.conv_du.0.")
    key = key.replace(".attention.expand.", ".cca.conv_du.2.")
    for conv in ("c4", "c5"):
        key = key.replace(f".{conv}.weight", f".{conv}.0.weight").replace(
            f".{conv}.bias", f".{conv}.0.bias"
        )
    return key


def authors_keymap() -> KeyMap:
    """How the authors' SRFBN(num_features=64, num_steps=4, num_groups=6, ×16) names ours."""
    return KeyMap.from_module(
        "the Fast-SRFBN authors' generator (jzrita/NTIRE2020_sysu-AIR)", FastSRFBN(), _authors_name
    )


ARCHITECTURE = Architecture(
    name="fast_srfbn",
    build=FastSRFBN,
    spec=SPEC,
    summary="Fast-SRFBN (NTIRE 2020 x16): feedback network of IMDBs, one image per step",
    foreign=(ForeignLayout(authors_keymap),),
)
