"""PSNR and SSIM against scikit-image, torchmetrics and hand-computed cases."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics.functional.image import structural_similarity_index_measure

from srlab.metrics import psnr, ssim
from srlab.ops import rgb_to_y


@pytest.fixture(scope="module")
def pair(shared_dir):
    """A 200 x 232 crop of a dev photo and a noisy, slightly blurred version of it."""
    img = Image.open(shared_dir / "data" / "photos" / "dev" / "opencv_fruits.png").convert("RGB")
    hr = np.asarray(img)[100:300, 150:382]
    rng = np.random.default_rng(0)
    blurred = (hr[:-1].astype(float) + hr[1:]) / 2
    sr = np.concatenate([hr[:1], blurred]) + rng.normal(0, 6, hr.shape)
    return hr, np.clip(np.round(sr), 0, 255).astype(np.uint8)


def _y(img):
    return rgb_to_y(img.astype(np.float64))


def _skimage_ssim_valid(x, y, channel_axis=None):
    """scikit-image's SSIM map with the protocol's settings, cut to the valid region (5 px)."""
    _, full = structural_similarity(
        x,
        y,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=channel_axis,
        full=True,
    )
    return full[5:-5, 5:-5].mean()


def test_psnr_matches_scikit_image_on_y_and_rgb(pair):
    hr, sr = pair
    expected_y = peak_signal_noise_ratio(_y(hr), _y(sr), data_range=255)
    assert psnr(hr, sr) == pytest.approx(expected_y, abs=1e-10)
    expected_rgb = peak_signal_noise_ratio(hr, sr, data_range=255)
    assert psnr(hr, sr, y_channel=False) == pytest.approx(expected_rgb, abs=1e-10)
    assert 20 < psnr(hr, sr) < 45


def test_psnr_hand_computed_offsets():
    gray = np.random.default_rng(2).integers(0, 255, (16, 16), dtype=np.uint8)
    assert psnr(gray, gray + 1) == pytest.approx(10 * math.log10(255**2), abs=1e-12)
    assert psnr(gray, gray + 1) == pytest.approx(48.1308036, abs=1e-7)
    rgb = np.random.default_rng(3).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    # +1 on R, G and B moves Y by (65.481 + 128.553 + 24.966) / 255 = 219 / 255.
    expected = 10 * math.log10(255**2 / (219 / 255) ** 2)
    assert psnr(rgb, rgb + 1) == pytest.approx(expected, abs=1e-10)
    assert psnr(rgb, rgb + 1, y_channel=False) == pytest.approx(48.1308036, abs=1e-7)


def test_identical_images_give_infinite_psnr_and_unit_ssim(pair):
    hr, _ = pair
    assert psnr(hr, hr) == math.inf
    assert psnr(hr, hr.copy(), y_channel=False, crop_border=4) == math.inf
    assert ssim(hr, hr) == pytest.approx(1.0, abs=1e-12)
    assert ssim(hr, hr, y_channel=False) == pytest.approx(1.0, abs=1e-12)


def test_round_y_scores_the_rounded_luma(pair):
    hr, sr = pair
    yh = np.floor(_y(hr) + 0.5).astype(np.uint8)
    ys = np.floor(_y(sr) + 0.5).astype(np.uint8)
    assert psnr(hr, sr, round_y=True) == pytest.approx(psnr(yh, ys), abs=1e-12)
    assert ssim(hr, sr, round_y=True) == pytest.approx(ssim(yh, ys), abs=1e-12)
    assert psnr(hr, sr, round_y=True) != psnr(hr, sr)


def test_crop_border_drops_the_border_only(pair):
    hr, sr = pair
    s = 4
    assert psnr(hr, sr, crop_border=s) == psnr(hr[s:-s, s:-s], sr[s:-s, s:-s])
    assert ssim(hr, sr, crop_border=s) == ssim(hr[s:-s, s:-s], sr[s:-s, s:-s])
    spoiled = sr.copy()
    spoiled[:s] = 0
    spoiled[:, -s:] = 255
    assert psnr(hr, spoiled, crop_border=s) == psnr(hr, sr, crop_border=s)
    assert ssim(hr, spoiled, crop_border=s) == ssim(hr, sr, crop_border=s)
    assert psnr(hr, spoiled) < psnr(hr, sr)


def test_ssim_matches_scikit_image_valid_region(pair):
    hr, sr = pair
    assert ssim(hr, sr) == pytest.approx(_skimage_ssim_valid(_y(hr), _y(sr)), abs=1e-10)
    expected_rgb = _skimage_ssim_valid(hr.astype(float), sr.astype(float), channel_axis=2)
    assert ssim(hr, sr, y_channel=False) == pytest.approx(expected_rgb, abs=1e-10)
    assert 0.3 < ssim(hr, sr) < 0.99


def test_ssim_matches_torchmetrics_full_map_cut_to_valid(pair):
    hr, sr = pair
    t = lambda img: torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1)[None]  # noqa: E731
    _, full = structural_similarity_index_measure(
        t(sr), t(hr), data_range=255.0, sigma=1.5, kernel_size=11, return_full_image=True
    )
    expected = full[..., 5:-5, 5:-5].mean().item()
    assert ssim(hr, sr, y_channel=False) == pytest.approx(expected, abs=1e-10)


def test_ssim_is_symmetric_and_lower_for_worse_images(pair):
    hr, sr = pair
    worse = np.clip(sr.astype(int) + np.random.default_rng(5).integers(-40, 41, sr.shape), 0, 255)
    assert ssim(hr, sr) == pytest.approx(ssim(sr, hr), abs=1e-14)
    assert ssim(hr, worse.astype(np.uint8)) < ssim(hr, sr)


def test_ssim_size_limits(pair):
    hr, sr = pair
    assert np.isfinite(ssim(hr[:11, :11], sr[:11, :11]))
    with pytest.raises(ValueError, match="11 x 11"):
        ssim(hr[:10, :30], sr[:10, :30])
    with pytest.raises(ValueError, match="11 x 11"):
        ssim(hr[:30, :30], sr[:30, :30], crop_border=10)


def test_16bit_and_float_inputs_score_like_their_8bit_rounding(pair):
    hr, sr = pair
    rng = np.random.default_rng(7)
    noise = rng.integers(-128, 129, hr.shape)  # |noise| / 257 < 0.5: rounds back to hr
    hr16 = np.clip(hr.astype(np.int64) * 257 + noise, 0, 65535).astype(np.uint16)
    sr16 = sr.astype(np.uint16) * 257
    assert np.array_equal(np.round(hr16 / 257), hr)
    assert psnr(hr16, sr16) == psnr(hr, sr)
    assert ssim(hr16, sr16, y_channel=False) == ssim(hr, sr, y_channel=False)
    sr_float = (sr / 255 + rng.uniform(-0.4, 0.4, sr.shape) / 255).astype(np.float32)
    assert psnr(hr, sr_float, crop_border=2) == psnr(hr, sr, crop_border=2)
    sr_tensor = torch.from_numpy(sr).permute(2, 0, 1).float() / 255
    assert ssim(hr, sr_tensor) == ssim(hr, sr)
