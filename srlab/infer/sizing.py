"""Any output size: a scale factor such as 2.5, or a target width and/or height.

The model runs at the smallest scale it produces natively that reaches the requested size, then
MATLAB bicubic (`srlab.ops.imresize`) shrinks its output to the exact size. Sizes are the input
size times the factor rounded half up (101 × 2.5 = 252.5 → 253); with one of width and height
the other keeps the aspect ratio the same way; with both the size is exact. A factor the model
produces natively runs exactly as before (no resize).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from srlab.infer.options import UpscaleOptions
from srlab.infer.upscaler import Upscaler
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel, ModelLoadError, load_model

MAX_SIDE = 1 << 20  # pixels: far beyond any image that fits in memory, below integer trouble


@dataclass(frozen=True)
class OutputSize:
    """The size outputs should have. `scale`: a factor > 0 (float); `width`/`height`: pixels
    (one keeps the aspect ratio, both give that exact size). All None: the model's own scale."""

    scale: float | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        if self.scale is not None:
            if isinstance(self.scale, bool) or not isinstance(self.scale, int | float):
                raise ValueError(f"scale must be a number, got {self.scale!r}")
            if not (math.isfinite(self.scale) and self.scale > 0):
                raise ValueError(f"scale must be a finite number > 0, got {self.scale!r}")
            if self.width is not None or self.height is not None:
                raise ValueError("give either a scale or a target width/height, not both")
        for name, side in (("width", self.width), ("height", self.height)):
            if side is not None and (
                isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= MAX_SIDE
            ):
                raise ValueError(f"{name} must be a whole number 1..{MAX_SIDE}, got {side!r}")

    def target(self, width: int, height: int, default_scale: int) -> tuple[int, int]:
        """(width, height) of the output for a width × height input."""
        if self.width is not None and self.height is not None:
            return self.width, self.height
        if self.width is not None:
            return self.width, _times(height, Fraction(self.width, width))
        if self.height is not None:
            return _times(width, Fraction(self.height, height)), self.height
        factor = _exact(self.scale) if self.scale is not None else Fraction(default_scale)
        return _times(width, factor), _times(height, factor)


def _exact(scale: float) -> Fraction:
    """The factor as its decimal reads (2.5, 0.1), so that rounding follows what was typed."""
    return Fraction(repr(float(scale))) if isinstance(scale, float) else Fraction(scale)


def _times(side: int, factor: Fraction) -> int:
    """side × factor rounded half up, at least 1."""
    return max(1, math.floor(side * factor + Fraction(1, 2)))


def needed_factor(width: int, height: int, target: tuple[int, int]) -> Fraction:
    """The least factor a model must enlarge by to cover `target` on both axes."""
    return max(Fraction(target[0], width), Fraction(target[1], height))


class SizedUpscaler:
    """Upscales images to an `OutputSize` with a model loaded once per native scale.

    `model` is a catalogue name or file (loaded at whichever of its scales a size needs), or a
    LoadedModel or an Upscaler (which run only at their own scale). Without a size, the model
    runs at its own scale exactly as an `Upscaler` of it.
    """

    def __init__(
        self,
        model: str | Path | LoadedModel | Upscaler,
        options: UpscaleOptions | None = None,
        size: OutputSize | None = None,
        loader: Callable[..., LoadedModel] = load_model,
    ) -> None:
        self.size = size or OutputSize()
        self._loader = loader
        self._upscalers: dict[int, Upscaler] = {}
        self._refused: dict[int, str] = {}
        if isinstance(model, Upscaler):
            if options is not None and options != model.options:
                raise ValueError("an Upscaler brings its own options")
            self.options = model.options
            self._source: str | Path | LoadedModel = model.model
            self._upscalers[model.scale] = model
            self.default = model
        else:
            self.options = options or UpscaleOptions()
            self._source = model
            self.default = self._keep(model if isinstance(model, LoadedModel) else loader(model))
        if self.size.scale is not None:  # one native scale serves every image
            self.default = self.upscaler_for(_exact(self.size.scale))

    @property
    def model_name(self) -> str:
        return self.default.model.name

    @property
    def scale(self) -> int:
        """The native scale the model runs at (per image with a target width or height)."""
        return self.default.scale

    def describe(self) -> str:
        """How outputs are made, for a summary line: "model NAME, x4" or "..., x3 then ..."."""
        text = f"model {self.model_name}, x{self.scale}"
        if self.size.scale is not None and _exact(self.size.scale) != self.scale:
            text += f" then bicubic to x{self.size.scale:g}"
        elif self.size.width is not None or self.size.height is not None:
            sides = [f"{n} {v}" for n, v in (("width", self.size.width),
                                               ("height", self.size.height)) if v is not None]
            text = f"model {self.model_name}, " + " and ".join(sides)
        return text

    def plan(self, width: int, height: int) -> tuple[Upscaler, int, int]:
        """The upscaler (at its native scale) and the output (width, height) for an input."""
        target = self.size.target(width, height, self.default.scale)
        if self.size.width is None and self.size.height is None:
            return self.default, *target  # its native scale reaches ceil(scale) >= the size
        return self.upscaler_for(needed_factor(width, height, target)), *target

    def upscaler_for(self, factor: Fraction) -> Upscaler:
        """The upscaler at the smallest native scale >= factor (ValueError when none).

        Scales whose weights do not load (a file trained for one of its architecture's
        scales) are passed over for the next larger one."""
        candidates = self._candidates(factor)
        for scale in candidates:
            if scale in self._upscalers:
                return self._upscalers[scale]
            if scale in self._refused:
                continue
            try:
                return self._keep(self._loader(self._source, scale=scale))
            except ModelLoadError as err:
                self._refused[scale] = str(err)
        reason = f"; {self._refused[candidates[-1]]}" if candidates else ""
        raise ValueError(
            f"model {self.model_name!r} has no scale that reaches x{float(factor):.4g} "
            f"(it runs at {self._scales_text()}){reason}"
        )

    def _native_scales(self) -> list[int]:
        """The scales to try, smallest first (empty: any whole factor)."""
        if isinstance(self._source, LoadedModel):  # no file to load at other scales
            return [self.default.scale]
        return sorted(self.default.model.spec.scales)

    def _candidates(self, factor: Fraction) -> list[int]:
        scales = self._native_scales()
        if not scales:
            return [max(1, math.ceil(factor))]
        return [s for s in scales if s >= factor]

    def _scales_text(self) -> str:
        scales = self._native_scales()
        return ", ".join(f"x{s}" for s in scales) if scales else "any whole factor"

    def _keep(self, model: LoadedModel) -> Upscaler:
        upscaler = Upscaler(model, self.options)
        self._upscalers[model.scale] = upscaler
        return upscaler

    def upscale(
        self,
        image: DecodedImage,
        on_tile: Callable[[], None] | None = None,
        *,
        tile: int | None = None,
        on_retry: Callable[[int, int], None] | None = None,
    ) -> DecodedImage:
        """`image` at the output size, same channels, alpha, bit depth, ICC profile and EXIF."""
        upscaler, width, height = self.plan(image.width, image.height)
        s = upscaler.scale
        if (width, height) == (image.width * s, image.height * s):
            return upscaler.upscale(image, on_tile, tile=tile, on_retry=on_retry)
        native = upscaler.upscale_array(image.rgb, on_tile, tile=tile, on_retry=on_retry)
        alpha = None if image.alpha is None else resize_plane(image.alpha, width, height)
        return image.with_pixels(resize_plane(native, width, height), alpha)


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float32 H×W(×C) plane resized to width × height with MATLAB bicubic, clipped to 0..1."""
    out = imresize(np.ascontiguousarray(plane, np.float32), size=(height, width))
    return np.clip(out, 0.0, 1.0, out=out)
