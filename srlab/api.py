"""The one-call Python API: `srlab.upscale(image, ...)`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from srlab.infer.options import DEFAULT_OVERLAP, DEFAULT_SEED, UpscaleOptions
from srlab.infer.sizing import OutputSize, SizedUpscaler
from srlab.io import from_array, from_pil, read_image, to_array, to_pil
from srlab.zoo import LoadedModel


def upscale(
    image: str | Path | Image.Image | np.ndarray,
    *,
    model: str | Path | LoadedModel = "default",
    scale: float | None = None,
    width: int | None = None,
    height: int | None = None,
    tile: int | None = None,
    tile_overlap: int = DEFAULT_OVERLAP,
    ensemble: bool = False,
    device: str = "cpu",
    half: bool | None = None,
    noise: float | None = None,
    seed: int = DEFAULT_SEED,
) -> Image.Image | np.ndarray:
    """Upscale one image.

    A path or PIL image gives back a PIL image; a numpy array (H×W, H×W×1..4; uint8, uint16 or
    float in 0..1) gives back an array of the same dtype and channel layout. Alpha is kept.
    Output size: `scale` (any factor > 0, e.g. 2.5; None: the model's own), or `width` and/or
    `height` in pixels (one keeps the aspect ratio); the model runs at the smallest scale it
    has that reaches the size and MATLAB bicubic shrinks the rest (sizes round half up, see
    `srlab.infer.sizing`). `tile=None` uses the model's default tile size; `noise` is the
    amplitude W of models with a noise input (the default G-MGBP: 0 = faithful, 1 = sharpest
    texture), drawn from `seed`. The other options are those of
    `srlab.infer.options.UpscaleOptions`.
    """
    if not isinstance(image, str | Path | Image.Image | np.ndarray):
        raise TypeError(
            "srlab.upscale takes a file path, a PIL image or a numpy array, not "
            f"{type(image).__name__} (a torch tensor: pass tensor.numpy(), H x W x C)"
        )
    options = UpscaleOptions(
        tile=tile,
        tile_overlap=tile_overlap,
        ensemble=ensemble,
        device=device,
        half=half,
        noise=noise,
        seed=seed,
    )
    size = OutputSize(scale=scale, width=width, height=height)
    upscaler = SizedUpscaler(model, options, size)
    if isinstance(image, np.ndarray):
        return to_array(upscaler.upscale(from_array(image)), image.dtype)
    decoded = from_pil(image) if isinstance(image, Image.Image) else read_image(image)
    return to_pil(upscaler.upscale(decoded))
