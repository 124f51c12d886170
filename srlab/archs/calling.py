"""How to call a super-resolution network: the one reader of a ModelSpec's calling convention.

Networks differ in how they are called (see `ModelSpec`): some need inputs padded to a size
multiple, some take a noise amplitude and unit noise maps, some pool statistics over the whole
image, some return one image per recurrent step. The upscaler, the exporter, validation during
training and evaluation all call networks through :func:`final_output` and the small helpers
below, so each convention is interpreted here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.spec import ModelSpec

Statistics = dict[str, torch.Tensor]


def final_output(
    module: nn.Module,
    spec: ModelSpec,
    x: torch.Tensor,
    *,
    noise: float | torch.Tensor = 0.0,
    noise_maps: Sequence[torch.Tensor] | None = None,
    stats: Statistics | None = None,
) -> torch.Tensor:
    """The network's final image for an N×C×H×W batch: one N×C×sH×sW tensor.

    - `size_multiple`: H and W are padded (edge-replicated, bottom and right) up to a multiple
      and the result is cropped back to s·H × s·W.
    - `takes_noise`: `noise` is the amplitude W (a float, or a scalar tensor in traced graphs)
      and `noise_maps` the unit maps of this input (from :func:`draw_noise` or
      :func:`crop_noise`); without maps the network draws its own when W > 0. Networks without
      a noise input refuse W > 0 and maps.
    - `global_stats`: `stats` are the whole image's statistics (:func:`image_statistics`);
      tiles of one image must all get the same ones. None computes them from `x`.
    - `multi_output`: only the last image is computed (`last_only=True`) and returned.
    """
    asks_noise = noise_maps is not None or isinstance(noise, torch.Tensor) or noise != 0
    if asks_noise and not spec.takes_noise:
        raise ValueError(f"{type(module).__name__} has no noise input")
    height, width = x.shape[-2:]
    kwargs: dict = dict(image_statistics(module, spec, x) if stats is None else stats)
    if spec.multi_output:
        kwargs["last_only"] = True
    if spec.takes_noise:
        kwargs |= {"noise": noise, "noise_maps": noise_maps}
    pad_h, pad_w = (-height) % spec.size_multiple, (-width) % spec.size_multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    y = module(x, **kwargs)
    if spec.multi_output:
        y = y[-1]
    elif not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{type(module).__name__} returned a {type(y).__name__}, not one image; "
            "a network with several outputs declares multi_output in its ModelSpec"
        )
    if pad_h or pad_w:
        scale = y.shape[-2] // x.shape[-2]
        y = y[..., : height * scale, : width * scale]
    return y


def image_statistics(module: nn.Module, spec: ModelSpec, x: torch.Tensor) -> Statistics:
    """Whole-image statistics every tile of `x` must share ({} for networks that pool none)."""
    return dict(module.image_statistics(x)) if spec.global_stats else {}


def draw_noise(
    module: nn.Module,
    spec: ModelSpec,
    height: int,
    width: int,
    generator: torch.Generator,
    batch: int = 1,
) -> list[torch.Tensor] | None:
    """Unit noise maps for a whole H×W input drawn from `generator` (None: no noise input)."""
    if not spec.takes_noise:
        return None
    return module.draw_noise(batch, height, width, generator=generator)


def crop_noise(
    module: nn.Module,
    maps: Sequence[torch.Tensor],
    top: int,
    left: int,
    height: int,
    width: int,
) -> list[torch.Tensor]:
    """The part of a whole input's noise maps that the window at (top, left) of height × width
    sees, so that a tile gets the noise the whole image would."""
    return module.crop_noise(maps, top, left, height, width)
