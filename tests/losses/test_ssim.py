"""SSIM / MS-SSIM losses: hand values, and torchmetrics on the same (valid) region.

torchmetrics reflect-pads by 5 px and averages the SSIM map over the *full* image; its
contrast-structure value, and its SSIM map cropped by 5 px, are exactly our "valid" quantities.
Its MS-SSIM uses cs at scales 1..4 (valid) but the padded full-image SSIM at scale 5, and averages
channels before the product; we use the valid SSIM at scale 5 and one MS-SSIM per channel. The tests
rebuild our definition from torchmetrics' public pieces, and also check the whole torchmetrics
MS-SSIM after swapping its last factor.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure as tm_ms_ssim,
)
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

from srlab.losses import LOSSES, MSSSIMLoss, SSIMLoss
from srlab.losses.ssim import MS_SSIM_WEIGHTS

TM = {"gaussian_kernel": True, "sigma": 1.5, "kernel_size": 11, "k1": 0.01, "k2": 0.03}


def noisy_pair(shape, seed, data_range=1.0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(*shape, generator=g, dtype=torch.float64)
    target = F.avg_pool2d(F.pad(target, (1, 1, 1, 1), mode="reflect"), 3, stride=1)  # smoother
    pred = (target + 0.1 * torch.randn(*shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return pred * data_range, target * data_range


def tm_valid_ssim(pred, target, data_range):
    _, full = tm_ssim(pred, target, data_range=data_range, return_full_image=True, **TM)
    return full[..., 5:-5, 5:-5].mean()


def tm_valid_cs(pred, target, data_range):
    _, cs = tm_ssim(pred, target, data_range=data_range, return_contrast_sensitivity=True, **TM)
    return cs


def test_constant_images_hand_value():
    # no variance: cs = C2 / C2 = 1, SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 L)^2
    a = torch.full((1, 1, 12, 12), 0.5, dtype=torch.float64)
    b = torch.zeros_like(a)
    expected = 1 - 1e-4 / (0.25 + 1e-4)
    assert SSIMLoss()(a, b).item() == pytest.approx(expected, rel=1e-12)
    assert SSIMLoss(data_range=255.0)(255 * a, 255 * b).item() == pytest.approx(expected, rel=1e-12)


def test_identical_images_give_zero():
    pred, _ = noisy_pair((2, 3, 180, 180), seed=0)
    assert abs(SSIMLoss()(pred, pred.clone()).item()) < 1e-12
    assert abs(MSSSIMLoss()(pred, pred.clone()).item()) < 1e-12


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_ssim_matches_torchmetrics_valid_region(data_range):
    pred, target = noisy_pair((2, 3, 40, 33), seed=1, data_range=data_range)
    ours = 1 - SSIMLoss(data_range=data_range)(pred, target)
    torch.testing.assert_close(ours, tm_valid_ssim(pred, target, data_range), rtol=1e-10, atol=0)
    # sanity: torchmetrics' own (padded) mean is a different number
    padded = tm_ssim(pred, target, data_range=data_range, **TM)
    assert abs(padded.item() - ours.item()) > 1e-4


def test_ms_ssim_matches_torchmetrics_pieces_per_channel():
    pred, target = noisy_pair((2, 3, 176, 184), seed=2)
    values = torch.ones(2, 3, dtype=torch.float64)
    for c in range(3):
        p, t = pred[:, c : c + 1], target[:, c : c + 1]
        for scale, weight in enumerate(MS_SSIM_WEIGHTS):
            if scale:
                p, t = F.avg_pool2d(p, 2), F.avg_pool2d(t, 2)
            for n in range(2):
                pn, tn = p[n : n + 1], t[n : n + 1]
                last = scale == len(MS_SSIM_WEIGHTS) - 1
                term = tm_valid_ssim(pn, tn, 1.0) if last else tm_valid_cs(pn, tn, 1.0)
                values[n, c] = values[n, c] * term.clamp(min=0).squeeze() ** weight
    torch.testing.assert_close(1 - MSSSIMLoss()(pred, target), values.mean(), rtol=1e-10, atol=0)


def test_ms_ssim_equals_torchmetrics_with_its_last_factor_swapped():
    pred, target = noisy_pair((1, 1, 176, 176), seed=3)
    tm_value = tm_ms_ssim(pred, target, data_range=1.0, normalize=None, **TM)
    p, t = F.avg_pool2d(pred, 16), F.avg_pool2d(target, 16)  # four 2 x 2 poolings
    padded = tm_ssim(p, t, data_range=1.0, **TM)
    expected = tm_value * (tm_valid_ssim(p, t, 1.0) / padded) ** MS_SSIM_WEIGHTS[-1]
    ours = 1 - LOSSES["ms_ssim"]()(pred, target)
    # torchmetrics raises to float32 copies of the weights: agreement to ~1e-9, not 1e-15
    torch.testing.assert_close(ours, expected, rtol=1e-8, atol=0)
    assert abs(ours.item() - tm_value.item()) > 1e-6  # the conventions do differ


def test_single_scale_ms_ssim_is_ssim():
    pred, target = noisy_pair((2, 3, 30, 31), seed=7)
    torch.testing.assert_close(MSSSIMLoss(weights=(1.0,))(pred, target), SSIMLoss()(pred, target))


def test_ssim_gradcheck():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 2, 13, 12, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 2, 13, 12, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(SSIMLoss(), (x, y), fast_mode=True)


def test_ms_ssim_gradcheck_two_scales():
    pred, target = noisy_pair((1, 2, 23, 22), seed=5)
    loss = MSSSIMLoss(weights=(0.4, 0.6))
    inputs = (pred.requires_grad_(True), target.requires_grad_(True))
    assert gradcheck(loss, inputs, fast_mode=True)


def test_ms_ssim_negative_structure_gives_one_not_nan():
    g = torch.Generator().manual_seed(6)
    x = torch.rand(1, 1, 22, 22, generator=g, dtype=torch.float64, requires_grad=True)
    loss = MSSSIMLoss(weights=(0.5, 0.5))(x, 1 - x.detach())  # anti-correlated: cs < 0
    assert loss.item() == 1.0
    loss.backward()
    assert torch.isfinite(x.grad).all()


def test_size_checks():
    with pytest.raises(ValueError, match="H, W >= 176"):
        MSSSIMLoss()(torch.zeros(1, 3, 175, 200), torch.zeros(1, 3, 175, 200))
    with pytest.raises(ValueError, match="H, W >= 11"):
        SSIMLoss()(torch.zeros(1, 3, 10, 20), torch.zeros(1, 3, 10, 20))
