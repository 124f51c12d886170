"""MS-SSIM against pytorch_msssim (Wang's valid-window convention) and torchmetrics' pieces."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from pytorch_msssim import ms_ssim as reference_ms_ssim
from torchmetrics.functional.image import structural_similarity_index_measure

from srlab.metrics import ms_ssim
from srlab.metrics.msssim import MS_SSIM_WEIGHTS
from srlab.ops import rgb_to_y

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@pytest.fixture(scope="module")
def pair(shared_dir):
    """A 213 x 245 crop of a dev photo and a noisy version of it."""
    img = Image.open(shared_dir / "data" / "photos" / "dev" / "opencv_baboon.png").convert("RGB")
    hr = np.asarray(img)[40:253, 60:305]
    noisy = hr + np.random.default_rng(0).normal(0, 15, hr.shape)
    return hr, np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _nchw(img: np.ndarray) -> torch.Tensor:
    img = img.astype(np.float64)
    return torch.from_numpy(img if img.ndim == 3 else img[..., None]).permute(2, 0, 1)[None]


def test_weights_are_the_standard_five():
    assert tuple(MS_SSIM_WEIGHTS) == WEIGHTS


@pytest.mark.parametrize("y_channel", [True, False])
def test_matches_pytorch_msssim_on_sides_multiple_of_16(pair, y_channel):
    hr, sr = (img[:208, :240] for img in pair)
    if y_channel:
        ref_hr, ref_sr = rgb_to_y(hr.astype(float)), rgb_to_y(sr.astype(float))
    else:
        ref_hr, ref_sr = hr, sr
    x, y = _nchw(ref_sr), _nchw(ref_hr)
    # pytorch_msssim's own 11-tap, sigma-1.5 window is float32; give it the same one in float64.
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    win = (g / g.sum()).view(1, 1, 1, 11).repeat(x.shape[1], 1, 1, 1)
    expected = reference_ms_ssim(x, y, data_range=255, win=win, weights=WEIGHTS).item()
    assert ms_ssim(hr, sr, y_channel=y_channel) == pytest.approx(expected, abs=1e-12)
    assert 0.5 < expected < 0.99


def test_matches_torchmetrics_components_on_odd_sizes(pair):
    """Wang's product of per-scale means, rebuilt from torchmetrics' SSIM and avg_pool2d."""
    hr, sr = pair
    x, y = _nchw(rgb_to_y(sr.astype(float))), _nchw(rgb_to_y(hr.astype(float)))
    expected = 1.0
    for scale, weight in enumerate(WEIGHTS):
        if scale:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        if scale < len(WEIGHTS) - 1:
            _, cs = structural_similarity_index_measure(
                x, y, data_range=255.0, return_contrast_sensitivity=True
            )
            expected *= cs.item() ** weight
        else:
            _, full = structural_similarity_index_measure(
                x, y, data_range=255.0, return_full_image=True
            )
            expected *= full[..., 5:-5, 5:-5].mean().item() ** weight
    assert ms_ssim(hr, sr) == pytest.approx(expected, abs=1e-10)


def test_identical_images_give_one_and_worse_images_less(pair):
    hr, sr = pair
    assert ms_ssim(hr, hr) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim(hr, hr, y_channel=False) == pytest.approx(1.0, abs=1e-12)
    worse = np.clip(sr.astype(int) + np.random.default_rng(1).integers(-60, 61, sr.shape), 0, 255)
    assert ms_ssim(hr, worse.astype(np.uint8)) < ms_ssim(hr, sr) < 1.0


def test_crop_border_and_16bit_inputs(pair):
    hr, sr = pair
    assert ms_ssim(hr, sr, crop_border=4) == ms_ssim(hr[4:-4, 4:-4], sr[4:-4, 4:-4])
    assert ms_ssim(hr.astype(np.uint16) * 257, sr.astype(np.uint16) * 257) == ms_ssim(hr, sr)


def test_too_small_for_five_scales_is_a_clear_error(pair):
    hr, sr = pair
    assert np.isfinite(ms_ssim(hr[:176, :176], sr[:176, :176]))
    with pytest.raises(ValueError, match="176 x 176"):
        ms_ssim(hr[:175, :200], sr[:175, :200])
    with pytest.raises(ValueError, match="176 x 176"):
        ms_ssim(hr[:180, :180], sr[:180, :180], crop_border=3)


def test_anti_correlated_images_are_undefined():
    ramp = np.tile(np.arange(0, 240, dtype=np.uint8), (240, 1))
    assert np.isnan(ms_ssim(ramp, 239 - ramp))
