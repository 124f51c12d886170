"""Upscale whole images with any loaded model: tiles, blending, self-ensemble, precision."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import torch

from srlab.archs.calling import crop_noise, draw_noise, final_output, image_statistics
from srlab.infer.ensemble import self_ensemble
from srlab.infer.options import UpscaleOptions
from srlab.infer.precision import inference_dtype
from srlab.infer.tiling import Tile, plan_tiles
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel

T = TypeVar("T")
_ALPHA_MARGIN = 3  # LR rows around a band's alpha window: MATLAB bicubic enlarges from 6 taps


class Upscaler:
    """Runs a model over an image tile by tile, holding only one tile's activations at a time.

    The output is blended in a single float32 H·s × W·s × C array, or, by `stream`, in a band
    of about one row of tiles that slides down the output as rows are finished. Grayscale images go
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
        return image.with_pixels(rgb, alpha)

    def stream(
        self,
        image: DecodedImage,
        write: Callable[[Iterator[DecodedImage]], T],
        on_tile: Callable[[], None] | None = None,
        *,
        tile: int | None = None,
        on_retry: Callable[[int, int], None] | None = None,
    ) -> T:
        """Upscale `image` a band of output rows at a time: returns `write(bands)`.

        `bands` yields DecodedImages of finished rows, top to bottom, as each row of tiles
        completes: full width, with the channels, alpha (bicubic, as `upscale`), bit depth and
        metadata `upscale` gives; together they are exactly `upscale`'s pixels. Only a band of
        about one tile row is held, so `write` must be done with a band before asking for the
        next (its memory is reused). When the model runs out of memory the exception passes
        through `write` (which should drop what it wrote), then `write` is called again with
        fresh bands at half the tile, and `on_retry(old_tile, new_tile)` is told.
        """
        lr = self._model_input(image.rgb)
        height, width = lr.shape[-2:]

        def attempt(tile: int) -> T:
            rows = self._tile_rows(height, width, tile)
            window = max(row[0].rows.read_stop - row[0].rows.read_start for row in rows)
            blender = _Blender(window * self.scale, width * self.scale, lr.shape[0])
            return write(self._image_bands(image, self._blend(lr, rows, blender, on_tile)))

        return self._with_retries(attempt, tile, height, width, on_retry)

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
        lr = self._model_input(rgb)
        height, width = lr.shape[-2:]
        s = self.scale

        def attempt(tile: int) -> np.ndarray:
            # The blender spans the whole output: its rows are the result, never moved.
            blender = _Blender(height * s, width * s, lr.shape[0])
            bands = self._blend(lr, self._tile_rows(height, width, tile), blender, on_tile)
            if rgb.shape[2] == lr.shape[0]:
                for _ in bands:
                    pass
                return blender.rows
            gray = np.empty((height * s, width * s, 1), np.float32)
            top = 0
            for band in bands:
                gray[top : top + len(band)] = band.mean(axis=2, keepdims=True)
                top += len(band)
            return gray

        return self._with_retries(attempt, tile, height, width, on_retry)

    def _model_input(self, rgb: np.ndarray) -> torch.Tensor:
        """The C×H×W tensor the model reads (gray repeated to the model's channels)."""
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise ValueError(f"expected an H×W×1 or H×W×3 array, got shape {rgb.shape}")
        lr = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        return lr.expand(self.model.spec.in_channels, -1, -1) if rgb.shape[2] == 1 else lr

    def _with_retries(
        self,
        attempt: Callable[[int], T],
        tile: int | None,
        height: int,
        width: int,
        on_retry: Callable[[int, int], None] | None,
    ) -> T:
        """`attempt(tile)`, again with half the tile each time the model runs out of memory."""
        tile = self.tile if tile is None else tile
        if tile and tile < self.min_tile:
            raise ValueError(f"tile {tile} is below this model's smallest, {self.min_tile}")
        while True:
            try:
                return attempt(tile)
            except _ModelOutOfMemory as err:
                smaller = self._smaller_tile(tile, height, width)
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

    def _smaller_tile(self, tile: int, height: int, width: int) -> int | None:
        """Half the tile that ran out of memory, or None at the floor."""
        effective = min(tile or max(height, width), max(height, width))
        if effective <= self.min_tile:
            return None
        return max(effective // 2, self.min_tile)

    def _tile_rows(self, height: int, width: int, tile: int) -> list[list[Tile]]:
        """The tiles of an image, one list per row of tiles, top to bottom."""
        overlap = self.context if tile else 0
        tiles = plan_tiles(
            height, width, tile or max(height, width), overlap, self.scale,
            self.model.spec.size_multiple,
        )
        return [list(row) for _, row in itertools.groupby(tiles, key=lambda t: t.rows)]

    def _blend(
        self,
        lr: torch.Tensor,
        rows: list[list[Tile]],
        blender: _Blender,
        on_tile: Callable[[], None] | None,
    ) -> Iterator[np.ndarray]:
        """The C×H×W input through the model tile by tile, blended in `blender`: yields the
        output rows (float32, model channels, clipped to 0..1) each row of tiles finishes,
        which the next row of tiles does not reach (views into `blender`)."""
        height, width = lr.shape[-2:]
        s = self.scale
        noise_maps = self._draw_noise(height, width)
        stats = self._image_statistics(lr)
        for i, row in enumerate(rows):
            blender.reserve(row[0].rows.read_stop * s)
            for t in row:
                self._add_tile(lr, t, noise_maps, stats, blender)
                if on_tile is not None:
                    on_tile()
            finished = rows[i + 1][0].rows.read_start * s if i + 1 < len(rows) else height * s
            if finished > blender.done:
                yield blender.release(finished)

    def _add_tile(
        self,
        lr: torch.Tensor,
        t: Tile,
        noise_maps: list[torch.Tensor] | None,
        stats: dict[str, torch.Tensor],
        blender: _Blender,
    ) -> None:
        """Run one tile and add its weighted output to the blender."""
        rows = slice(t.rows.read_start, t.rows.read_stop)
        cols = slice(t.cols.read_start, t.cols.read_stop)
        maps = None
        if noise_maps is not None:
            maps = crop_noise(
                self.module, noise_maps, rows.start, cols.start, rows.stop - rows.start,
                cols.stop - cols.start,
            )
        sr = self._run(lr[:, rows, cols], maps, stats)
        s = self.scale
        out_cols = slice(cols.start * s, cols.stop * s)
        blender.add(rows.start * s, out_cols, sr * t.weights[:, :, None])

    def _image_bands(
        self, image: DecodedImage, bands: Iterator[np.ndarray]
    ) -> Iterator[DecodedImage]:
        """Finished model-channel rows as bands of the output image: gray mean, alpha, metadata."""
        top, alpha = 0, image.alpha
        for rgb in bands:
            stop = top + len(rgb)
            yield image.with_pixels(
                rgb.mean(axis=2, keepdims=True) if image.is_gray else rgb,
                None if alpha is None else upscale_alpha_rows(alpha, self.scale, top, stop),
            )
            top = stop

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


class _Blender:
    """Output rows being blended from tiles: a window of `capacity` output rows that slides
    down as rows are finished (with the whole output's height it never moves, and `rows` is
    the result). Rows from `done` on may still receive tiles; rows before it were released."""

    def __init__(self, capacity: int, width: int, channels: int) -> None:
        self.rows = np.zeros((capacity, width, channels), dtype=np.float32)
        self.base = 0  # the output row held in rows[0]
        self.done = 0  # output rows before this one have been released
        self.reached = 0  # output rows from this one on hold nothing yet

    def reserve(self, stop: int) -> None:
        """Make output rows `done`..`stop` addressable, sliding the window down if needed."""
        if stop - self.base > len(self.rows):
            keep, shift = self.reached - self.done, self.done - self.base
            for i in range(0, keep, shift):  # chunks no longer than the shift never overlap
                n = min(shift, keep - i)
                self.rows[i : i + n] = self.rows[shift + i : shift + i + n]
            self.rows[keep : self.reached - self.base] = 0
            self.base = self.done
        self.reached = max(self.reached, stop)

    def add(self, top: int, cols: slice, values: np.ndarray) -> None:
        """Add `values` to the output rows from `top` on, columns `cols`."""
        self.rows[top - self.base : top - self.base + len(values), cols] += values

    def release(self, stop: int) -> np.ndarray:
        """Output rows `done`..`stop`, finished: clipped to 0..1 in place, a view."""
        band = self.rows[self.done - self.base : stop - self.base]
        np.clip(band, 0.0, 1.0, out=band)
        self.done = stop
        return band


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


def upscale_alpha_rows(alpha: np.ndarray, scale: int, top: int, stop: int) -> np.ndarray:
    """Output rows `top`..`stop` of `upscale_alpha(alpha, scale)`, made from only the LR rows
    they need: bicubic's taps reach at most 3 LR rows beyond a band, so the window's cut edges
    (mirrored by imresize) are never read."""
    first = max(0, top // scale - _ALPHA_MARGIN)
    last = min(alpha.shape[0], -(-stop // scale) + _ALPHA_MARGIN)
    window = upscale_alpha(alpha[first:last], scale)
    return window[top - first * scale : stop - first * scale]
