"""Multi-scale SSIM (Wang, Simoncelli and Bovik 2003) on the evaluation protocol's inputs.

Five scales with the standard weights; between scales both images are 2 x 2 average-pooled (an odd
last row/column is dropped, as ``torch.nn.functional.avg_pool2d``). Scales 1–4 contribute the mean
contrast-structure term, scale 5 the mean SSIM (luminance x contrast-structure), each raised to its
weight and multiplied. Every scale uses the same valid-filtered 11 x 11 Gaussian window as
:func:`srlab.metrics.ssim`; this is the convention of Wang's ``msssim.m`` (and of the
``pytorch_msssim`` package), whereas torchmetrics takes the last scale's SSIM over a
reflect-padded full map. In RGB mode MS-SSIM is computed per channel and averaged.
"""

from __future__ import annotations

import numpy as np

from srlab.metrics.inputs import ImageLike, prepare_pair
from srlab.metrics.psnr_ssim import WINDOW_SIZE, ssim_cs_maps

__all__ = ["MS_SSIM_WEIGHTS", "ms_ssim"]

MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _pool2(img: np.ndarray) -> np.ndarray:
    """2 x 2 average pooling of an ``H x W x C`` array (floor of odd sizes)."""
    h, w, c = img.shape
    h2, w2 = h // 2, w // 2
    return img[: 2 * h2, : 2 * w2].reshape(h2, 2, w2, 2, c).mean(axis=(1, 3))


def _min_side() -> int:
    """Smallest side whose last scale still holds one full window."""
    return WINDOW_SIZE * 2 ** (len(MS_SSIM_WEIGHTS) - 1)


def ms_ssim(
    a: ImageLike,
    b: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    round_y: bool = False,
) -> float:
    """MS-SSIM of two images (1.0 when equal); sides must be at least 176 px after cropping.

    Like Wang's reference the value is undefined (NaN) when some scale's mean contrast-structure
    term is negative, which only happens for strongly anti-correlated images.
    """
    x, y = prepare_pair(a, b, crop=crop_border, y_channel=y_channel, round_y=round_y)
    h, w = x.shape[:2]
    if min(h, w) < _min_side():
        raise ValueError(
            f"MS-SSIM needs at least {_min_side()} x {_min_side()} pixels (after cropping) for "
            f"{len(MS_SSIM_WEIGHTS)} scales with an {WINDOW_SIZE} x {WINDOW_SIZE} window, "
            f"got {h} x {w}"
        )
    terms = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        if scale:
            x, y = _pool2(x), _pool2(y)
        ssim_map, cs_map = ssim_cs_maps(x, y)
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        terms.append((ssim_map if last else cs_map).mean(axis=(0, 1)))
    with np.errstate(invalid="ignore"):
        per_channel = np.prod(np.stack(terms) ** MS_SSIM_WEIGHTS[:, None], axis=0)
    return float(np.mean(per_channel))
