"""Bring metric inputs to one form: float64 arrays holding the 8-bit values (0..255) of the image.

The evaluation protocol scores SR output *after* quantising it to 8 bit (MATLAB writes uint8
images), so every input is reduced to its 8-bit values first:

- ``uint8``: used as is;
- ``uint16``: divided by 257 and rounded (65535 -> 255; exact ties cannot occur);
- float: read as 0..1, clipped to 0..1 and rounded half away from zero after scaling by 255,
  like MATLAB's ``im2uint8``; values outside -1..2 are rejected as a wrong scale (0–255 floats);
- torch tensors ``C x H x W`` or ``1 x C x H x W`` (any device): converted to numpy, then as above.

Layouts: ``H x W`` (gray), ``H x W x 1`` (gray) or ``H x W x 3`` (RGB). Results are ``H x W x C``.
"""

from __future__ import annotations

import numpy as np
import torch

from srlab.ops.color import matlab_round, rgb_to_y

__all__ = ["ImageLike", "prepare_pair", "shave", "to_8bit_values"]

ImageLike = np.ndarray | torch.Tensor

_FLOAT_RANGE_GUARD = (-1.0, 2.0)


def _tensor_to_hwc(t: torch.Tensor) -> np.ndarray:
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(
                f"a 4-D tensor must hold one image (1 x C x H x W), got {tuple(t.shape)}"
            )
        t = t[0]
    if t.ndim != 3:
        raise ValueError(f"tensors must be C x H x W or 1 x C x H x W, got {tuple(t.shape)}")
    return t.detach().cpu().permute(1, 2, 0).numpy()


def to_8bit_values(img: ImageLike) -> np.ndarray:
    """The image as an ``H x W x C`` (C = 1 or 3) float64 array of 8-bit values 0..255."""
    if isinstance(img, torch.Tensor):
        img = _tensor_to_hwc(img)
    if not isinstance(img, np.ndarray):
        raise TypeError(f"expected a numpy array or a torch tensor, got {type(img).__name__}")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise ValueError(f"expected an H x W, H x W x 1 or H x W x 3 image, got shape {img.shape}")
    if img.dtype == np.uint8:
        return img.astype(np.float64)
    if img.dtype == np.uint16:
        return np.round(img / 257.0)
    if np.issubdtype(img.dtype, np.floating):
        return _float_to_8bit(img.astype(np.float64))
    raise TypeError(f"unsupported image dtype {img.dtype}: use uint8, uint16 or float in 0..1")


def _float_to_8bit(img: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(img)):
        raise ValueError("float image contains NaN or infinite values")
    lo, hi = _FLOAT_RANGE_GUARD
    if img.size and (img.min() < lo or img.max() > hi):
        raise ValueError(
            f"float images must be in 0..1, got values in [{img.min():g}, {img.max():g}]; "
            "convert 0–255 data to uint8 first"
        )
    return matlab_round(np.clip(img, 0.0, 1.0) * 255.0)


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels from every side of an ``H x W (x C)`` array."""
    if isinstance(border, bool) or not isinstance(border, int | np.integer) or border < 0:
        raise ValueError(f"crop_border must be a non-negative integer, got {border!r}")
    h, w = img.shape[:2]
    if 2 * border >= min(h, w):
        raise ValueError(f"crop_border={border} leaves nothing of a {h} x {w} image")
    return img[border : h - border, border : w - border] if border else img


def prepare_pair(
    a: ImageLike, b: ImageLike, *, crop: int, y_channel: bool, round_y: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Both images as 8-bit-valued float64 ``H x W x C`` arrays, on Y if asked, border-cropped.

    ``y_channel`` turns RGB images into their BT.601 Y; gray images carry no chroma and are used
    as they are (their value is their luma). Shapes must match exactly.
    """
    x, y = to_8bit_values(a), to_8bit_values(b)
    if x.shape != y.shape:
        raise ValueError(f"images must have the same shape, got {x.shape} and {y.shape}")
    if y_channel and x.shape[2] == 3:
        x = rgb_to_y(x, round_y=round_y)[..., None]
        y = rgb_to_y(y, round_y=round_y)[..., None]
    return shave(x, crop), shave(y, crop)
