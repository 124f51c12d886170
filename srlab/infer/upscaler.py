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
    (`tile_geometry`) and start on multiples of its `size_multiple`. For models with a noise
    input, each image's noise maps are drawn once from a generator seeded with `options.seed`
    and every tile uses its part of them, so tiles agree and the same seed gives the same
    picture.

    Running out of memory inside the model (a CUDA out-of-memory error, MemoryError, or the
    CPU allocator's failure) is not the end of an image: the tile is halved and the image
    started again, down to `min_tile` (twice the overlap); below that, TileMemoryError.
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
        # The context of any tiled run (also one shrunk after running out of memory).
        self.context = max(options.tile_overlap, model.spec.receptive_radius)
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

    @property
    def min_tile(self) -> int:
        """The smallest tile the upscaler shrinks to after running out of memory."""
        return 2 * self.context

    def upscale(
        self,
        image: DecodedImage,
        on_tile: Callable[[], None] | None = None,
        *,
        tile: int | None = None,
        on_retry: Callable[[int, int], None] | None = None,
    ) -> DecodedImage:
        """A new DecodedImage `scale` times larger, same channels, alpha, bit depth, ICC
        profile and EXIF. `tile` replaces the upscaler's tile for this image (see
        `upscale_array`)."""
        rgb = self.upscale_array(image.rgb, on_tile, tile=tile, on_retry=on_retry)
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
        self,
        rgb: np.ndarray,
        on_tile: Callable[[], None] | None = None,
        *,
        tile: int | None = None,
        on_retry: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """H×W×C float32 (C = 1 or 3, values 0..1) → H·s×W·s×C float32.

        `tile` (LR pixels; 0 = whole image) replaces the upscaler's own for this image; a
        non-zero one must be at least `min_tile`. When the model runs out of memory the image
        is started again with half the tile, and `on_retry(old_tile, new_tile)` is told.
        """
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise ValueError(f"expected an H×W×1 or H×W×3 array, got shape {rgb.shape}")
        tile = self.tile if tile is None else tile
        if tile and tile < self.min_tile:
            raise ValueError(f"tile {tile} is below this model's smallest, {self.min_tile}")
        gray = rgb.shape[2] == 1
        lr = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        if gray:
            lr = lr.expand(self.model.spec.in_channels, -1, -1)
        while True:
            try:
                out = self._upscale_tiles(lr, tile, on_tile)
            except _ModelOutOfMemory as err:
                smaller = self._smaller_tile(tile, *lr.shape[-2:])
                if smaller is None:
                    where = f"tiles of {tile} pixels" if tile else "the whole image"
                    raise TileMemoryError(
                        f"out of memory in model {self.model.name!r} even with {where} (its "
                        f"smallest tile is {self.min_tile}); free memory or ask for a smaller "
                        "output"
                    ) from err.__cause__
                if on_retry is not None:
                    on_retry(tile, smaller)
                tile = smaller
                continue
            return out.mean(axis=2, keepdims=True) if gray else out

    def _smaller_tile(self, tile: int, height: int, width: int) -> int | None:
        """Half the tile that ran out of memory, or None at the floor."""
        effective = min(tile or max(height, width), max(height, width))
        if effective <= self.min_tile:
            return None
        return max(effective // 2, self.min_tile)

    def _upscale_tiles(
        self, lr: torch.Tensor, tile: int, on_tile: Callable[[], None] | None
    ) -> np.ndarray:
        """The C×H×W input through the model tile by tile → H·s×W·s×C float32 in 0..1."""
        height, width = lr.shape[-2:]
        s = self.scale
        out = np.zeros((height * s, width * s, lr.shape[0]), dtype=np.float32)
        overlap = self.context if tile else 0
        noise_maps = self._draw_noise(height, width)
        stats = self._image_statistics(lr)
        tiles = plan_tiles(
            height, width, tile or max(height, width), overlap, s, self.model.spec.size_multiple
        )
        for t in tiles:
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
        return out

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

        try:
            with torch.inference_mode():
                sr = self_ensemble(forward, x) if self.options.ensemble else forward(x).float()
                return sr[0].permute(1, 2, 0).cpu().numpy()
        except (MemoryError, RuntimeError) as err:
            if not is_out_of_memory(err):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            raise _ModelOutOfMemory from err


class TileMemoryError(MemoryError):
    """The model ran out of memory even on the smallest tile; the message is one line."""


class _ModelOutOfMemory(Exception):
    """A tile ran out of memory inside the model (the cause is the original error)."""


def is_out_of_memory(err: BaseException) -> bool:
    """Whether `err` says an allocation failed: MemoryError, a CUDA out-of-memory error, or
    the CPU allocator's RuntimeError ("can't allocate memory")."""
    if isinstance(err, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


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
