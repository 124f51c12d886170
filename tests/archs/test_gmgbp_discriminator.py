"""The G-MGBP discriminator: our proposed wiring's size, and VN+SC's defining properties."""

import pytest
import torch

from srlab.archs.gmgbp_discriminator import VNSC, GMGBPDiscriminator


def test_parameter_count_is_independent_of_the_scales():
    d = GMGBPDiscriminator()
    parts = {n: sum(p.numel() for p in getattr(d, n).parameters())
             for n in ("analysis", "pool", "synthesis")}
    assert parts == {"analysis": 66_192, "pool": 82_064, "synthesis": 45_505}
    assert sum(p.numel() for p in d.parameters()) == 193_761


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_one_logit_per_sample_for_any_pyramid(levels: int):
    d = GMGBPDiscriminator(features=8, growth=4)
    pyramid = [torch.rand(2, 3, 8 << k, 8 << k, requires_grad=True) for k in range(levels)]
    logits = d(pyramid)
    assert logits.shape == (2,)
    logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pyramid)


def _luma_norm(rgb: torch.Tensor) -> torch.Tensor:
    """Î of VN+SC, recomputed with an explicit loop over the 7×7 window (reflect borders)."""
    luma = 16 + 65.481 * rgb[:, 0] + 128.553 * rgb[:, 1] + 24.966 * rgb[:, 2]
    t = torch.arange(7.0, dtype=torch.float64) - 3
    g = torch.exp(-(t**2) / (2 * (7 / 6) ** 2))
    w = torch.outer(g, g) / torch.outer(g, g).sum()
    padded = torch.nn.functional.pad(luma[:, None], (3, 3, 3, 3), mode="reflect")[:, 0]
    h, wd = luma.shape[-2:]
    mean = torch.zeros_like(luma)
    sq = torch.zeros_like(luma)
    for i in range(7):
        for j in range(7):
            patch = padded[:, i : i + h, j : j + wd]
            mean += w[i, j] * patch
            sq += w[i, j] * patch**2
    return (luma - mean) / ((sq - mean**2).abs().sqrt() + 1)


def test_vnsc_channels_are_shifted_products_of_the_normalised_luma():
    rgb = torch.rand(1, 3, 20, 22, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = VNSC().double()(rgb)
    norm = _luma_norm(rgb)
    assert out.shape == (1, 49, 20, 22)
    assert torch.allclose(out[:, 24], norm**2, atol=1e-9)  # p = q = 0
    i, j = 10, 11
    for p in (-3, 0, 2):
        for q in (-1, 3):
            channel = 7 * (p + 3) + (q + 3)
            expected = norm[0, i, j] * norm[0, i + p, j + q]
            assert out[0, channel, i, j].item() == pytest.approx(expected.item(), abs=1e-9)


def test_vnsc_ignores_brightness_and_flat_images():
    rgb = torch.rand(1, 3, 16, 16, dtype=torch.float64) * 0.5
    vnsc = VNSC().double()
    assert torch.allclose(vnsc(rgb), vnsc(rgb + 0.3), atol=1e-9)
    assert vnsc(torch.full((1, 3, 12, 12), 0.4, dtype=torch.float64)).abs().max() < 1e-6
