"""Fourier loss: an impulse and a constant image against zero, a DFT-matrix reference, gradients."""

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import FourierLoss


def test_impulse_against_zero():
    # the spectrum of a unit impulse at the origin is 1 + 0i at every frequency:
    # |Re| sums to H W, |Im| to 0, the mean is over 2 H W values
    x = torch.zeros(2, 3, 4, 6, dtype=torch.float64)
    x[..., 0, 0] = 1.0
    assert FourierLoss()(x, torch.zeros_like(x)).item() == pytest.approx(0.5)


def test_constant_against_zero_is_unnormalised():
    # only the DC term is non-zero: c H W (norm="backward" does not divide)
    x = torch.full((1, 1, 4, 5), 3.0, dtype=torch.float64)
    assert FourierLoss()(x, torch.zeros_like(x)).item() == pytest.approx(3.0 * 20 / 40)


def test_matches_a_dft_matrix_reference():
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 1, 2, 5, 3))
    h, w = 5, 3
    fh = np.exp(-2j * np.pi * np.outer(np.arange(h), np.arange(h)) / h)
    fw = np.exp(-2j * np.pi * np.outer(np.arange(w), np.arange(w)) / w)
    diff = fh @ (a - b) @ fw.T
    expected = (np.abs(diff.real).sum() + np.abs(diff.imag).sum()) / (2 * diff.size)
    value = FourierLoss()(torch.from_numpy(a), torch.from_numpy(b)).item()
    assert value == pytest.approx(expected, rel=1e-12)


def test_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(FourierLoss(), (x, y))


def test_shape_mismatch():
    with pytest.raises(ValueError, match="FourierLoss"):
        FourierLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
