"""NIQE (Mittal, Soundararajan and Bovik 2013), a port of the MATLAB reference ``computequality.m``.

The image is reduced to its 8-bit values (:mod:`srlab.metrics.inputs`); RGB becomes the *rounded*
BT.601 Y, as MATLAB's ``rgb2ycbcr`` returns for uint8 images (BasicSR's port rounds too), gray is
used as is. After ``crop_border`` the image is cut to whole 96 x 96 blocks from the top left. At
two scales (the second made by MATLAB's antialiased bicubic ``imresize(im, 0.5)`` of the float
image) the MSCN coefficients (I - mu) / (sigma + 1), with mu and sigma from the 7 x 7 Gaussian
window of the model file and edge replication, yield 18 features per block: the AGGD fit of the
coefficients (alpha, mean of the two betas) and, for the products with the block circularly
shifted by (0, 1), (1, 0), (1, 1), (1, -1), alpha, mean, left and right beta. A multivariate
Gaussian fitted to the blocks' 36 features (NaN-aware, as ``nanmean``/``nancov``) is compared to
the pristine model: sqrt(d' pinv((S_pris + S) / 2) d). Lower is better.

MATLAB details kept on purpose: alpha is matched on the grid 0.2:0.001:10 taking the first
minimum, so an undefined statistic (a block with no negative or no positive values) gives
alpha = 0.2 and NaN betas; ``pinv`` uses MATLAB's default tolerance. One deliberate difference:
perfectly flat neighbourhoods give MSCN coefficients of exactly 0 (see :func:`mscn`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np
from scipy.special import gamma

from srlab.metrics.inputs import ImageLike, shave, to_8bit_values
from srlab.ops.color import rgb_to_y
from srlab.ops.resize import imresize

__all__ = [
    "BLOCK_SIZE",
    "NiqeModel",
    "aggd_params",
    "mscn",
    "niqe",
    "niqe_features",
    "pristine_model",
]

BLOCK_SIZE = 96
_ALPHA_GRID = np.arange(200, 10001) / 1000.0  # MATLAB's 0.2:0.001:10
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


class NiqeModel(NamedTuple):
    """The pristine multivariate Gaussian and the local-statistics window of MATLAB's NIQE."""

    mu: np.ndarray  # (36,)
    cov: np.ndarray  # (36, 36)
    window: np.ndarray  # (7, 7)


@lru_cache(maxsize=1)
def pristine_model() -> NiqeModel:
    """Load the MATLAB parameters shipped in ``srlab/metrics/data`` (see NIQE-LICENSE.md there)."""
    source = resources.files("srlab.metrics").joinpath("data/niqe_pris_params.npz")
    with source.open("rb") as f, np.load(f) as data:
        return NiqeModel(
            mu=data["mu_pris_param"].ravel().copy(),
            cov=data["cov_pris_param"].copy(),
            window=data["gaussian_window"].copy(),
        )


@lru_cache(maxsize=1)
def _rho_grid() -> np.ndarray:
    """Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) on the alpha grid; strictly increasing."""
    a = _ALPHA_GRID
    return gamma(2 / a) ** 2 / (gamma(1 / a) * gamma(3 / a))


def _match_alpha(rho: np.ndarray) -> np.ndarray:
    """Grid alpha minimising (rho_grid - rho)^2, first index on ties and for NaN (MATLAB's min)."""
    grid = _rho_grid()
    i = np.searchsorted(grid, rho)
    lo = np.clip(i - 1, 0, grid.size - 1)
    hi = np.clip(i, 0, grid.size - 1)
    idx = np.where((grid[lo] - rho) ** 2 <= (grid[hi] - rho) ** 2, lo, hi)
    return _ALPHA_GRID[np.where(np.isnan(rho), 0, idx)]


def aggd_params(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching fit of an asymmetric generalised Gaussian to each row of ``samples``.

    Returns (alpha, beta_left, beta_right), one value per row; the betas are NaN when a row has no
    negative (left) or no positive (right) values.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = samples * samples
        neg, pos = samples < 0, samples > 0
        left_std = np.sqrt(np.sum(sq * neg, axis=-1) / np.sum(neg, axis=-1))
        right_std = np.sqrt(np.sum(sq * pos, axis=-1) / np.sum(pos, axis=-1))
        g = left_std / right_std
        r_hat = np.mean(np.abs(samples), axis=-1) ** 2 / np.mean(sq, axis=-1)
        rho = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
        alpha = _match_alpha(rho)
        k = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
        return alpha, left_std * k, right_std * k


def mscn(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """MSCN coefficients (I - mu) / (sigma + 1), borders replicated as imfilter's 'replicate'.

    mu and sigma^2 = E[I^2] - mu^2 are taken from the neighbours' differences to the centre
    (d = I_k - I): I - mu = -E[d] and sigma^2 = E[d^2] - E[d]^2. That is MATLAB's formula for a
    window summing to 1, but a perfectly flat neighbourhood gives exactly 0 instead of a +-1e-14
    residue whose sign depends on the filter's rounding and would change the AGGD fits.
    """
    r = window.shape[0] // 2
    padded = np.pad(img, r, mode="edge")
    h, w = img.shape
    mean_d = np.zeros_like(img)
    mean_d2 = np.zeros_like(img)
    for (i, j), weight in np.ndenumerate(window):
        d = padded[i : i + h, j : j + w] - img
        mean_d += weight * d
        mean_d2 += weight * (d * d)
    return -mean_d / (np.sqrt(np.abs(mean_d2 - mean_d * mean_d)) + 1)


def _blocks(img: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping ``size x size`` blocks of an image tiled exactly by them, in raster order."""
    nh, nw = img.shape[0] // size, img.shape[1] // size
    return img.reshape(nh, size, nw, size).swapaxes(1, 2).reshape(nh * nw, size, size)


def _block_features(blocks: np.ndarray) -> np.ndarray:
    """The 18 NSS features of each block of an ``N x b x b`` stack of MSCN blocks."""
    n = blocks.shape[0]
    alpha, beta_l, beta_r = aggd_params(blocks.reshape(n, -1))
    feats = [alpha, (beta_l + beta_r) / 2]
    for shift in _SHIFTS:
        pairs = blocks * np.roll(blocks, shift, axis=(1, 2))
        alpha, beta_l, beta_r = aggd_params(pairs.reshape(n, -1))
        with np.errstate(invalid="ignore"):
            mean = (beta_r - beta_l) * gamma(2 / alpha) / gamma(1 / alpha)
        feats += [alpha, mean, beta_l, beta_r]
    return np.stack(feats, axis=1)


def niqe_features(y: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``N x 36`` block features of a float64 image (0–255) tiled exactly by 96 x 96 blocks."""
    fine = _block_features(_blocks(mscn(y, window), BLOCK_SIZE))
    half = imresize(y, 0.5)
    coarse = _block_features(_blocks(mscn(half, window), BLOCK_SIZE // 2))
    return np.concatenate([fine, coarse], axis=1)


def _pinv_matlab(m: np.ndarray) -> np.ndarray:
    """Pseudo-inverse keeping singular values above MATLAB's tolerance max(size) * eps(norm)."""
    u, s, vt = np.linalg.svd(m)
    keep = s > max(m.shape) * np.spacing(s[0])
    return (vt[keep].T / s[keep]) @ u[:, keep].T


def _distance(feats: np.ndarray, model: NiqeModel) -> float:
    """NIQE distance of the blocks' MVG fit (``nanmean``/``nancov`` semantics) to the model."""
    complete = feats[~np.isnan(feats).any(axis=1)]
    if complete.shape[0] == 0:
        return float("nan")
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(feats, axis=0)
    cov = np.cov(complete, rowvar=False, ddof=1 if complete.shape[0] > 1 else 0)
    d = model.mu - mu
    return float(np.sqrt(d @ _pinv_matlab((model.cov + cov) / 2) @ d))


def niqe(img: ImageLike, *, crop_border: int = 0) -> float:
    """MATLAB-compatible NIQE of an image (lower is more natural).

    ``img`` follows the conventions of :mod:`srlab.metrics.inputs`; ``crop_border`` pixels are
    dropped from every side first. At least two whole 96 x 96 blocks must remain (the reference
    degenerates on a single block). NaN when no block has both negative and positive MSCN
    coefficients, e.g. for a flat image (the reference's covariance is undefined then too).
    """
    pix = to_8bit_values(img)
    y = rgb_to_y(pix, round_y=True) if pix.shape[2] == 3 else pix[..., 0]
    y = shave(y, crop_border)
    h, w = y.shape
    nh, nw = h // BLOCK_SIZE, w // BLOCK_SIZE
    if nh * nw < 2:
        raise ValueError(
            f"NIQE needs at least two whole {BLOCK_SIZE} x {BLOCK_SIZE} blocks (after cropping), "
            f"got a {h} x {w} image"
        )
    model = pristine_model()
    return _distance(niqe_features(y[: nh * BLOCK_SIZE, : nw * BLOCK_SIZE], model.window), model)
