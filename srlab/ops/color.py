"""BT.601 luma (the Y of MATLAB's ``rgb2ycbcr``), the channel PSNR/SSIM/NIQE are usually scored on.

Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in 0..1, i.e. 16..235 on the 0–255 scale.
It is evaluated as MATLAB does for uint8 input (coefficients divided by 255, applied to the 0–255
values, offset added last), so that rounding ties fall the same way as in ``rgb2ycbcr``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["matlab_round", "rgb_to_y"]

_Y_COEFFS = np.array([65.481, 128.553, 24.966]) / 255.0
_Y_OFFSET = 16.0


def matlab_round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, as MATLAB's ``round`` and its casts to integer types do."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def rgb_to_y(rgb: np.ndarray, *, round_y: bool = False) -> np.ndarray:
    """Y (0–255 scale, float64) of an ``H x W x 3`` RGB image given on the 0–255 scale.

    ``round_y`` rounds Y to integers as MATLAB's ``rgb2ycbcr`` does on uint8 images (the classic
    evaluation scripts work on that rounded Y).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb_to_y needs an H x W x 3 array, got shape {rgb.shape}")
    c = _Y_COEFFS
    y = c[0] * rgb[..., 0] + c[1] * rgb[..., 1] + c[2] * rgb[..., 2] + _Y_OFFSET
    return matlab_round(y) if round_y else y
