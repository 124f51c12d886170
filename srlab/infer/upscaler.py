"""Upscale whole images with any loaded model: tiles, blending, self-ensemble, precision."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from srlab.archs.calling import crop_noise, draw_noise, final_output, image_statistics
from srlab.infer.ensemble import self_ensemble
from srlab.infer.options import UpscaleOptions
from srlab.infer.precision import inference_dtype
from srlab.infer.tiling import plan_tiles
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel


class Upscaler:
    """Runs a model over an image tile by tile, holding only one tile's activations at a time.

    The output is accumulated in a single float32 H·s × W·s × C array. Grayscale images go
    through colour models as three equal channels and come back as their channel mean; alpha
    is upscaled separately with MATLAB bicubic (clamped), so transparency edges stay smooth
    and no network invents texture in them. The model's module is moved to the chosen device
    and memory format in place; a lower precision works on a copy, so the caller's float32
    weights are never rounded.

    `options` say how to run (see `UpscaleOptions`); keyword arguments change single fields of
    it, e.g. `Upscaler(model, tile=0)`. Tiles overlap by at least the model's receptive radius
    (`tile_geometry`). For models with a noise input, each image's noise maps are drawn once
    from a generator seeded with `options.seed` and every tile uses its part of them, so tiles
    agree and the same seed gives the same picture.
    """

    def __init__(
        self, model: LoadedModel, options: UpscaleOptions | None = None, **changes: Any
    ) -> None:
        options = replace(options or UpscaleOptions(), **changes)
        if options.noise is not None and not model.spec.takes_noise:
            raise ValueError(f"model {model.name!r} has no noise input; drop --noise")
        self.model = model
        self.options = options
        self.tile, self.overlap = tile_geometry(model, options)
        self.noise = options.noise or 0.0
        self.device = options.torch_device
        self.dtype = inference_dtype(self.device, options.half, model.spec.half_safe)
        module = model.module.eval().to(self.device)
        if any(p.dtype != self.dtype for p in module.parameters()):
            module = copy.deepcopy(module).to(dtype=self.dtype)
        self.module = module.to(memory_format=torch.channels_last)

    @property
    def scale(self) -> int:
        return self.model.scale

    def upscale(
        self, image: DecodedImage, on_tile: Callable[[], None] | None = None
    ) -> DecodedImage:
        """A new DecodedImage `scale` times larger, same channels, alpha, bit depth, ICC
        profile and EXIF."""
        rgb = self.upscale_array(image.rgb, on_tile)
        alpha = None if image.alpha is None else upscale_alpha(image.alpha, self.scale)
        return DecodedImage(
            rgb=rgb,
            alpha=alpha,
            bit_depth=image.bit_depth,
            format=image.format,
            path=None,
            icc_profile=image.icc_profile,
            exif=image.exif,
        )

    def upscale_array(
        self, rgb: np.ndarray, on_tile: Callable[[], None] | None = None
    ) -> np.ndarray:
        """H×W×C float32 (C = 1 or 3, values 0..1) → H·s×W·s×C float32."""
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise ValueError(f"expected an H×W×1 or H×W×3 array, got shape {rgb.shape}")
        gray = rgb.shape[2] == 1
        lr = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        if gray:
            lr = lr.expand(self.model.spec.in_channels, -1, -1)
        height, width = lr.shape[-2:]
        s = self.scale
        out = np.zeros((height * s, width * s, lr.shape[0]), dtype=np.float32)
        tile = self.tile or max(height, width)
        noise_maps = self._draw_noise(height, width)
        stats = self._image_statistics(lr)
        for t in plan_tiles(height, width, tile, self.overlap, s):
            rows = slice(t.rows.read_start, t.rows.read_stop)
            cols = slice(t.cols.read_start, t.cols.read_stop)
            maps = None
            if noise_maps is not None:
                maps = crop_noise(
                    self.module, noise_maps, rows.start, cols.start, rows.stop - rows.start,
                    cols.stop - cols.start,
                )
            sr = self._run(lr[:, rows, cols], maps, stats)
            out_rows = slice(rows.start * s, rows.stop * s)
            out_cols = slice(cols.start * s, cols.stop * s)
            out[out_rows, out_cols] += sr * t.weights[:, :, None]
            if on_tile is not None:
                on_tile()
        np.clip(out, 0.0, 1.0, out=out)
        return out.mean(axis=2, keepdims=True) if gray else out

    def _draw_noise(self, height: int, width: int) -> list[torch.Tensor] | None:
        """Unit noise maps for the whole image (None when the model takes none or W = 0)."""
        if self.noise == 0:
            return None
        generator = torch.Generator().manual_seed(self.options.seed)
        return draw_noise(self.module, self.model.spec, height, width, generator)

    def _image_statistics(self, lr: torch.Tensor) -> dict[str, torch.Tensor]:
        """Whole-image statistics that every tile must share (e.g. SRResCGAN's noise level)."""
        with torch.inference_mode():
            x = lr.unsqueeze(0).to(self.device, self.dtype)
            return image_statistics(self.module, self.model.spec, x)

    def _run(
        self,
        lr: torch.Tensor,
        noise_maps: list[torch.Tensor] | None,
        stats: dict[str, torch.Tensor],
    ) -> np.ndarray:
        """One C×h×w LR tile through the model (with ensemble) → h·s×w·s×C float32 array."""
        x = lr.unsqueeze(0).to(self.device, self.dtype)
        x = x.contiguous(memory_format=torch.channels_last)

        def forward(batch: torch.Tensor) -> torch.Tensor:
            return final_output(
                self.module, self.model.spec, batch,
                noise=self.noise, noise_maps=noise_maps, stats=stats,
            )

        with torch.inference_mode():
            sr = self_ensemble(forward, x) if self.options.ensemble else forward(x).float()
        return sr[0].permute(1, 2, 0).cpu().numpy()


def tile_geometry(model: LoadedModel, options: UpscaleOptions) -> tuple[int, int]:
    """(tile, overlap) in LR pixels for running `model` with `options`; tile 0 = whole image.

    The overlap is the larger of the one asked for and the model's receptive radius, so no
    caller can tile a network with less context than it declares it needs. A default tile too
    small for that overlap grows to twice it; a tile the caller chose is refused instead (its
    size bounds memory, which we do not silently raise).
    """
    if options.tile == 0:
        return 0, 0
    radius = model.spec.receptive_radius
    overlap = max(options.tile_overlap, radius)
    if options.tile is None:
        return max(model.spec.default_tile(model.scale), 2 * overlap), overlap
    if overlap > options.tile // 2:
        raise ValueError(
            f"tile {options.tile} is too small for model {model.name!r}: its tiles overlap by "
            f"{overlap} pixels (the larger of the overlap asked, {options.tile_overlap}, and "
            f"its receptive radius, {radius}), at most half a tile; use a tile of at least "
            f"{2 * overlap}"
        )
    return options.tile, overlap


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """Alpha plane enlarged with MATLAB bicubic and clamped to 0..1."""
    out = imresize(torch.from_numpy(np.ascontiguousarray(alpha, np.float32))[None], scale=scale)
    return out[0].clamp_(0.0, 1.0).numpy()
