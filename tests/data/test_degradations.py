"""Degradation models: LR/HR geometry, seeding, noise levels and argument checks."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from srlab.data import (
    BD,
    BI,
    DN,
    JPEG,
    Compose,
    RealWorld,
    RoundTo8Bit,
    make_degradation,
    modcrop,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _smooth_image(shape=(2, 3, 48, 60), seed=0) -> torch.Tensor:
    """Random but smooth content in 0.1..0.9, float64."""
    rough = np.random.default_rng(seed).random(shape)
    smooth = ndimage.gaussian_filter(rough, sigma=4, axes=(-2, -1))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return torch.from_numpy(0.1 + 0.8 * smooth)


def _fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    """MATLAB fspecial('gaussian', size, sigma), written out from its documentation."""
    r = np.arange(size) - (size - 1) / 2
    h = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bd_matches_imfilter_replicate_and_nearest(scale):
    """Blur as imfilter 'replicate' (scipy's 'nearest' mode), keep 0-based s//2, s//2 + s, ..."""
    hr = _smooth_image((1, 3, 12 * scale, 9 * scale), seed=scale)
    kernel = _fspecial_gaussian(7, 1.6)
    blurred = np.stack([ndimage.correlate(p, kernel, mode="nearest") for p in hr[0].numpy()])
    start = {2: 1, 3: 1, 4: 2}[scale]  # MATLAB imresize(.., 1/s, 'nearest') picks these
    expected = blurred[:, start::scale, start::scale]
    got = BD(scale)(hr)
    assert got.shape == (1, 3, 12, 9)
    np.testing.assert_allclose(got[0].numpy(), expected, atol=1e-12, rtol=0)


def test_bd_x3_impulse_lands_on_lr_pixel():
    """An impulse at HR (3j + 1, 3k + 1) appears in LR (j, k) with the kernel's centre weight."""
    hr = torch.zeros(1, 1, 30, 27, dtype=torch.float64)
    hr[0, 0, 3 * 4 + 1, 3 * 5 + 1] = 1.0
    lr = BD(3)(hr)[0, 0]
    peak = divmod(int(torch.argmax(lr)), lr.shape[1])
    assert peak == (4, 5)
    assert lr[4, 5].item() == pytest.approx(_fspecial_gaussian(7, 1.6)[3, 3], abs=1e-12)
    # neighbours are 3 HR pixels away from the impulse: weight of offset (3, 0)
    assert lr[3, 5].item() == pytest.approx(_fspecial_gaussian(7, 1.6)[0, 3], abs=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bi_blocky_image_keeps_block_values_at_centres(scale):
    """Regions of 6 x 6 LR pixels with one value each: LR pixels 2 and 3 of every region see
    only their own region (kernel support +-2 LR pixels), so they equal its value exactly."""
    values = np.random.default_rng(1).random((4, 5))
    hr = torch.from_numpy(np.kron(values, np.ones((6 * scale, 6 * scale))))[None, None]
    lr = BI(scale)(hr)[0, 0].numpy()
    assert lr.shape == (24, 30)
    inner = lr.reshape(4, 6, 5, 6)[:, 2:4, :, 2:4]
    np.testing.assert_allclose(
        inner, np.broadcast_to(values[:, None, :, None], inner.shape), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bi_ramp_equals_ramp_at_block_centres(scale):
    """A linear ramp's LR pixel j equals the ramp at the HR block centre s*j + (s - 1)/2."""
    h, w = 16 * scale, 20 * scale
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = 0.2 + 0.6 * (0.7 * rows / h + 0.3 * cols / w)
    lr = BI(scale)(torch.from_numpy(ramp)[None, None])[0, 0].numpy()
    centre_r = scale * np.arange(16) + (scale - 1) / 2
    centre_c = scale * np.arange(20) + (scale - 1) / 2
    expected = 0.2 + 0.6 * (0.7 * centre_r[:, None] / h + 0.3 * centre_c[None, :] / w)
    np.testing.assert_allclose(lr[3:-3, 3:-3], expected[3:-3, 3:-3], atol=1e-10, rtol=0)


def test_bd_ramp_equals_ramp_at_sampled_pixels():
    """BD keeps HR pixel s//2 + s*j; the symmetric blur leaves a ramp unchanged there."""
    for scale in (2, 3):
        rows = np.arange(18 * scale, dtype=np.float64)
        ramp = np.broadcast_to(0.01 * rows[:, None], (18 * scale, 6 * scale)).copy()
        lr = BD(scale)(torch.from_numpy(ramp)[None, None])[0, 0].numpy()
        expected = 0.01 * (scale // 2 + scale * np.arange(18))
        np.testing.assert_allclose(lr[2:-2, 0], expected[2:-2], atol=1e-12, rtol=0)


def test_bi_accepts_chw_and_keeps_layout():
    hr = _smooth_image((3, 24, 36))
    lr = BI(4)(hr)
    assert lr.shape == (3, 6, 9)
    torch.testing.assert_close(lr, BI(4)(hr[None])[0])


def test_dn_noise_std_and_seeding():
    hr = torch.full((1, 3, 256, 256), 0.5)
    op = DN(4)
    lr = op(hr, _gen(0))
    assert lr.shape == (1, 3, 64, 64)
    std = (lr - 0.5).std().item()
    assert abs(std - 30 / 255) < 0.05 * 30 / 255
    assert abs(lr.mean().item() - 0.5) < 0.01
    torch.testing.assert_close(op(hr, _gen(0)), lr, atol=0, rtol=0)
    assert not torch.equal(op(hr, _gen(1)), lr)


def test_dn_is_clipped_to_unit_range():
    lr = DN(2, sigma=0.5)(torch.full((1, 1, 64, 64), 0.9), _gen(2))
    assert lr.min().item() >= 0 and lr.max().item() <= 1
    assert (lr == 1).float().mean().item() > 0.3  # many samples saturated, not wrapped


def test_jpeg_changes_image_deterministically_and_is_8bit():
    hr = _smooth_image((2, 3, 40, 48)).float()
    noisy = (hr + 0.05 * torch.randn(hr.shape, generator=_gen(3))).clamp(0, 1)
    out = JPEG(30)(noisy)
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    assert not torch.allclose(out, noisy, atol=1e-3)
    torch.testing.assert_close(JPEG(30)(noisy), out, atol=0, rtol=0)
    torch.testing.assert_close(out * 255, torch.round(out * 255), atol=1e-4, rtol=0)
    err_low = (JPEG(10)(noisy) - noisy).abs().mean()
    err_high = (JPEG(95)(noisy) - noisy).abs().mean()
    assert err_high < err_low
    gray = JPEG(50)(hr[:, :1])
    assert gray.shape == (2, 1, 40, 48)


def test_realworld_shapes_determinism_and_per_sample_parameters():
    hr = _smooth_image((3, 3, 64, 48)).float()
    same = hr[:1].expand(3, 3, 64, 48).contiguous()
    op = RealWorld(4)
    lr = op(same, _gen(5))
    assert lr.shape == (3, 3, 16, 12)
    assert lr.min().item() >= 0 and lr.max().item() <= 1
    torch.testing.assert_close(op(same, _gen(5)), lr, atol=0, rtol=0)
    assert not torch.equal(op(same, _gen(6)), lr)
    # identical HR images in one batch get different degradations
    assert not torch.equal(lr[0], lr[1]) and not torch.equal(lr[1], lr[2])
    assert RealWorld(2)(hr[0], _gen(7)).shape == (3, 32, 24)


def test_realworld_without_noise_or_jpeg_is_blurred_bicubic():
    """With noise and JPEG off, a constant image stays constant through blur and bicubic."""
    op = RealWorld(2, noise_sigma=(0.0, 0.0), poisson_prob=0.0, jpeg_prob=0.0)
    lr = op(torch.full((2, 3, 32, 32), 0.3), _gen(8))
    torch.testing.assert_close(lr, torch.full((2, 3, 16, 16), 0.3), atol=1e-6, rtol=0)


def test_compose_multiplies_scales_and_chains():
    op = Compose(BI(2), BI(2), RoundTo8Bit())
    assert op.scale == 4
    hr = _smooth_image((1, 3, 32, 32)).float()
    lr = op(hr)
    assert lr.shape == (1, 3, 8, 8)
    torch.testing.assert_close(lr * 255, torch.round(lr * 255), atol=1e-4, rtol=0)
    assert Compose(BD(3), JPEG(80)).scale == 3


def test_round_to_8bit_rounds_halves_up_and_saturates():
    x = torch.tensor([0.5 / 255, 1.5 / 255, 254.4 / 255, 1.2, -0.1], dtype=torch.float64)
    expected = torch.tensor([1, 2, 254, 255, 0], dtype=torch.float64) / 255
    torch.testing.assert_close(RoundTo8Bit()(x.view(1, 1, 1, 5)).flatten(), expected)


def test_make_degradation_registry():
    assert make_degradation("BI", 4) == BI(4)
    assert make_degradation("bd", 3, sigma=1.2) == BD(3, sigma=1.2)
    assert make_degradation("DN", 3) == DN(3)
    assert make_degradation("JPEG", 1, quality=40) == JPEG(40)
    composed = make_degradation("JPEG", 4, quality=40)
    assert composed.scale == 4 and composed.ops == (BI(4), JPEG(40))
    assert make_degradation("realworld", 4, jpeg_prob=0.5) == RealWorld(4, jpeg_prob=0.5)
    with pytest.raises(ValueError, match="unknown degradation"):
        make_degradation("blur", 4)


def test_modcrop_keeps_top_left():
    x = torch.arange(7 * 10, dtype=torch.float32).view(1, 7, 10)
    cropped = modcrop(x, 3)
    assert cropped.shape == (1, 6, 9)
    torch.testing.assert_close(cropped, x[:, :6, :9])
    assert modcrop(np.zeros((7, 10, 3)), 4).shape == (4, 8, 3)


def test_bad_sizes_and_parameters_raise():
    with pytest.raises(ValueError, match="modcrop"):
        BI(3)(torch.zeros(1, 3, 10, 9))
    with pytest.raises(ValueError, match="modcrop"):
        RealWorld(4)(torch.zeros(3, 16, 18))
    with pytest.raises(ValueError, match="float tensor"):
        BI(2)(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="float tensor"):
        BI(2)(torch.zeros(4, 4))
    for bad in (
        lambda: BI(0),
        lambda: BI(2.5),
        lambda: BD(3, sigma=0),
        lambda: BD(3, kernel_size=0),
        lambda: DN(2, sigma=-0.1),
        lambda: JPEG(0),
        lambda: JPEG(101),
        lambda: JPEG(50, subsampling="4:1:1"),
        lambda: RealWorld(4, blur_sigma=(2.0, 1.0)),
        lambda: RealWorld(4, jpeg_quality=(0, 90)),
        lambda: RealWorld(4, poisson_prob=1.5),
        lambda: Compose(),
        lambda: modcrop(torch.zeros(4, 4), 0),
    ):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="1 or 3 channels"):
        JPEG(50)(torch.zeros(1, 2, 8, 8))
