"""Pixel losses on hand-computable inputs, their gradients, reductions and argument checks."""

import math

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import CharbonnierLoss, HuberLoss, L1Loss, LpLoss, MSELoss


def t(*values: float, grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=grad)


def test_l1_and_mse_hand_values():
    assert L1Loss()(t(0, 1), t(1, 1)).item() == 0.5
    assert MSELoss()(t(0, 3), t(1, 1)).item() == 2.5  # (1 + 4) / 2


def test_reductions():
    pred, target = t(0, 3), t(1, 1)
    assert L1Loss(reduction="sum")(pred, target).item() == 3.0
    assert torch.equal(L1Loss(reduction="none")(pred, target), t(1, 2))
    assert torch.equal(MSELoss(reduction="none")(pred, target), t(1, 4))


def test_charbonnier_at_zero_is_eps_not_zero():
    zeros = torch.zeros(2, 3, dtype=torch.float64)
    assert CharbonnierLoss()(zeros, zeros).item() == pytest.approx(1e-3, rel=1e-12)
    assert CharbonnierLoss(eps=0.25)(zeros, zeros).item() == pytest.approx(0.25, rel=1e-12)


def test_charbonnier_value_and_gradient():
    pred = t(3.0, -3.0, grad=True)
    loss = CharbonnierLoss(eps=4.0)(pred, t(0, 0))
    assert loss.item() == pytest.approx(5.0)  # sqrt(9 + 16)
    loss.backward()
    # d/de sqrt(e^2 + eps^2) = e / sqrt(e^2 + eps^2) = +-3/5, averaged over 2 elements
    assert torch.allclose(pred.grad, t(0.3, -0.3))


def test_charbonnier_gradient_is_zero_at_zero():
    pred = t(0.0, grad=True)
    CharbonnierLoss()(pred, t(0.0)).backward()
    assert pred.grad.item() == 0.0


@pytest.mark.parametrize(
    ("error", "delta", "expected"),
    [
        (0.5, 1.0, 0.125),  # quadratic side: e^2 / 2
        (1.0, 1.0, 0.5),  # at the boundary both branches give delta^2 / 2
        (2.0, 1.0, 1.5),  # linear side: delta (|e| - delta / 2)
        (-2.0, 1.0, 1.5),
        (0.02, 0.01, 1.5e-4),  # CIPLAB's delta: 0.01 * (0.02 - 0.005)
        (0.004, 0.01, 8e-6),
    ],
)
def test_huber_across_the_delta_boundary(error, delta, expected):
    assert HuberLoss(delta)(t(error), t(0.0)).item() == pytest.approx(expected, rel=1e-12)


def test_huber_gradient_is_continuous_at_delta():
    below, above = t(0.01 - 1e-9, grad=True), t(0.01 + 1e-9, grad=True)
    for x in (below, above):
        HuberLoss(0.01)(x, t(0.0)).backward()
    assert below.grad.item() == pytest.approx(0.01, abs=1e-8)  # e on the quadratic side
    assert above.grad.item() == pytest.approx(0.01, abs=1e-12)  # delta * sign(e) beyond


def test_lp_loss():
    assert LpLoss(p=1.5)(t(4.0, -4.0), t(0.0, 0.0)).item() == pytest.approx(8.0)
    assert LpLoss(p=2.0)(t(0, 3), t(1, 1)).item() == MSELoss()(t(0, 3), t(1, 1)).item()


@pytest.mark.parametrize(
    "loss",
    [L1Loss(), MSELoss(), CharbonnierLoss(), HuberLoss(0.3), LpLoss(1.5), MSELoss("sum")],
    ids=lambda m: type(m).__name__,
)
def test_gradcheck(loss):
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(loss, (pred, target))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"L1Loss.*\(2,\) vs \(1,\)"):
        L1Loss()(t(0, 1), t(1))


@pytest.mark.parametrize(
    "build",
    [
        lambda: L1Loss(reduction="avg"),
        lambda: CharbonnierLoss(eps=0.0),
        lambda: HuberLoss(delta=-1.0),
        lambda: LpLoss(p=1.0),
    ],
)
def test_invalid_arguments(build):
    with pytest.raises(ValueError):
        build()


def test_charbonnier_approaches_l1_for_large_errors():
    pred, target = t(100.0, -50.0), t(0.0, 0.0)
    assert math.isclose(
        CharbonnierLoss()(pred, target).item(), L1Loss()(pred, target).item(), rel_tol=1e-9
    )
