"""PSNR and SSIM with the evaluation protocol of the SR literature.

The protocol is described in docs/metrics.md and docs/architectures.md §1.4. Both score 8-bit
values (see :mod:`srlab.metrics.inputs`) on the 0–255 scale in float64, by default on the BT.601 Y
channel with ``crop_border`` pixels dropped from every side. SSIM is Wang et al.'s original
``ssim_index``: 11 x 11 Gaussian window (sigma 1.5, normalised), K = (0.01, 0.03) with L = 255,
"valid" filtering only (no padding, no automatic downsampling), mean of the SSIM map.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from srlab.metrics.inputs import ImageLike, prepare_pair

__all__ = ["WINDOW_SIZE", "psnr", "ssim", "ssim_cs_maps"]

WINDOW_SIZE = 11
_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def psnr(
    a: ImageLike,
    b: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    round_y: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(255² / MSE), MSE over all remaining values.

    RGB images are scored on Y unless ``y_channel`` is False (then the MSE runs over the three
    channels together); gray images are scored as they are. ``round_y`` rounds Y to integers as
    MATLAB's ``rgb2ycbcr`` on uint8 does. Identical images give ``math.inf``.
    """
    x, y = prepare_pair(a, b, crop=crop_border, y_channel=y_channel, round_y=round_y)
    mse = float(np.mean(np.square(x - y)))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)


@lru_cache(maxsize=1)
def _gaussian_1d() -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product is MATLAB's ``fspecial('gaussian', 11, 1.5)``."""
    r = np.arange(WINDOW_SIZE) - (WINDOW_SIZE - 1) / 2
    g = np.exp(-(r**2) / (2 * _SIGMA**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local means of an ``H x W x C`` array, "valid" region only."""
    w = _gaussian_1d()
    rows = sliding_window_view(img, WINDOW_SIZE, axis=0) @ w
    return sliding_window_view(rows, WINDOW_SIZE, axis=1) @ w


def ssim_cs_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSIM map and contrast-structure map of two ``H x W x C`` float64 arrays (0–255 scale).

    Both maps are ``(H - 10) x (W - 10) x C``; SSIM = luminance term x contrast-structure term.
    """
    h, w = x.shape[:2]
    if min(h, w) < WINDOW_SIZE:
        raise ValueError(
            f"SSIM needs at least {WINDOW_SIZE} x {WINDOW_SIZE} pixels (after cropping), "
            f"got {h} x {w}"
        )
    mu_x, mu_y = _filter_valid(x), _filter_valid(y)
    var_x = _filter_valid(x * x) - mu_x * mu_x
    var_y = _filter_valid(y * y) - mu_y * mu_y
    cov_xy = _filter_valid(x * y) - mu_x * mu_y
    cs = (2 * cov_xy + _C2) / (var_x + var_y + _C2)
    luminance = (2 * mu_x * mu_y + _C1) / (mu_x * mu_x + mu_y * mu_y + _C1)
    return luminance * cs, cs


def ssim(
    a: ImageLike,
    b: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    round_y: bool = False,
) -> float:
    """Structural similarity (Wang et al. 2004), mean of the valid SSIM map; 1.0 for equal images.

    RGB images are scored on Y unless ``y_channel`` is False (then it is the mean over the three
    channels' maps, i.e. the per-channel mean). Images smaller than 11 x 11 after cropping raise
    ValueError.
    """
    x, y = prepare_pair(a, b, crop=crop_border, y_channel=y_channel, round_y=round_y)
    return float(np.mean(ssim_cs_maps(x, y)[0]))
