"""The two "TV" losses on ramps and a hand-computed 2 x 2 image, and their gradients."""

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import LOSSES, GradientL1Loss, TVSquaredLoss


def ramp(a: float, b: float, shape=(2, 3, 4, 5)) -> torch.Tensor:
    """x[..., i, j] = a i + b j: vertical differences a, horizontal differences b."""
    *_, h, w = shape
    rows = torch.arange(h, dtype=torch.float64).view(h, 1)
    cols = torch.arange(w, dtype=torch.float64).view(1, w)
    return (a * rows + b * cols).expand(shape).clone()


def test_tv_squared_hand_value():
    x = torch.tensor([[0.0, 1.0], [3.0, 5.0]], dtype=torch.float64).view(1, 1, 2, 2)
    # vertical 3, 4 -> (9 + 16) / (1 * 1 * 2); horizontal 1, 2 -> (1 + 4) / (1 * 2 * 1)
    assert TVSquaredLoss()(x).item() == pytest.approx(2 * (12.5 + 2.5))


def test_tv_squared_of_a_ramp():
    # every difference is a (b): each normalised sum is B a^2 (B b^2), divided by B
    assert TVSquaredLoss()(ramp(2.0, -3.0)).item() == pytest.approx(2 * (4 + 9))
    assert TVSquaredLoss()(torch.full((2, 3, 4, 4), 7.0)).item() == 0.0


def test_tv_squared_ignores_the_target():
    x = ramp(1.0, 2.0)
    assert TVSquaredLoss()(x, torch.zeros_like(x)).item() == TVSquaredLoss()(x).item()


def test_tv_squared_is_not_normalised_by_batch_twice():
    single = ramp(1.0, 1.0, shape=(1, 1, 3, 3))
    assert TVSquaredLoss()(single.repeat(4, 2, 1, 1)).item() == TVSquaredLoss()(single).item()


def test_gradient_l1_of_a_ramp_against_zero():
    # sums a * B C (H-1) W and |b| * B C H (W-1), both divided by B C H W
    h, w = 4, 5
    value = GradientL1Loss()(ramp(2.0, -3.0), torch.zeros(2, 3, h, w, dtype=torch.float64))
    assert value.item() == pytest.approx(2 * (h - 1) / h + 3 * (w - 1) / w)  # 3.9


def test_gradient_l1_ignores_offsets_and_sees_edges():
    x = ramp(1.0, 0.5)
    assert GradientL1Loss()(x + 7.0, x).item() == 0.0
    y = x.clone()
    y[..., 2:, :] += 1.0  # a step edge between rows 1 and 2 (one row of vertical differences)
    assert GradientL1Loss()(x, y).item() == pytest.approx(1.0 / 4)  # 5 of 20 pixels


@pytest.mark.parametrize("name", ["tv_squared", "gradient_l1"])
def test_gradcheck(name):
    loss = LOSSES[name]()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(loss, (x,) if name == "tv_squared" else (x, y))


def test_too_small_input():
    with pytest.raises(ValueError, match="H, W >= 2"):
        TVSquaredLoss()(torch.zeros(1, 1, 1, 5))
