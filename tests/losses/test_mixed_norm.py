"""BSR's mixed-norm loss: the formula on hand-computed values, its gradient (gradcheck away from
and at zero residuals), the ablation variants it reduces to, and argument checks."""

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import LOSSES, L1Loss, MSELoss
from srlab.losses.mixed_norm import MixedNormLoss


def t(*values: float, grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=grad)


def test_hand_computed_value_and_gradient():
    # e = (0, 1, -4): e² = 0, 1, 16; |e| = 0, 1, 4; |e|^1.5 = 0, 1, 8
    pred = t(0.0, 1.0, -4.0, grad=True)
    loss = MixedNormLoss(alpha=2.0, beta=0.5, p=1.5)(pred, t(0, 0, 0))
    assert loss.item() == pytest.approx(17 / 3 + 2 * 5 / 3 + 0.5 * 9 / 3)  # 10.5
    loss.backward()
    # d/de (e² + α|e| + β|e|^p) / 3 = (2e + α·sign e + β·p·|e|^(p-1)·sign e) / 3; 0 at e = 0
    expected = t(0.0, 2 + 2 + 0.5 * 1.5, -8 - 2 - 0.5 * 1.5 * 2) / 3
    assert torch.allclose(pred.grad, expected, rtol=1e-12, atol=0)


def test_defaults_are_alpha_1_beta_1_p_1_5():
    loss = MixedNormLoss()
    assert (loss.alpha, loss.beta, loss.p) == (1.0, 1.0, 1.5)
    assert loss(t(4.0), t(0.0)).item() == pytest.approx(16 + 4 + 8)


def test_reduces_to_the_ablation_variants():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 5, 5, generator=g), torch.rand(2, 3, 5, 5, generator=g)
    l2, l1 = MSELoss()(pred, target), L1Loss()(pred, target)
    assert torch.allclose(MixedNormLoss(alpha=0, beta=0)(pred, target), l2)
    assert torch.allclose(MixedNormLoss(alpha=0.1, beta=0)(pred, target), l2 + 0.1 * l1)
    assert torch.allclose(MixedNormLoss(alpha=0, beta=3, p=2)(pred, target), 4 * l2)
    assert torch.allclose(MixedNormLoss(alpha=1, beta=1, p=1)(pred, target), l2 + 2 * l1)


def test_reductions():
    pred, target = t(0.0, 1.0, -4.0), t(0, 0, 0)
    elementwise = MixedNormLoss(reduction="none")(pred, target)
    assert torch.allclose(elementwise, t(0, 1 + 1 + 1, 16 + 4 + 8))
    assert MixedNormLoss(reduction="sum")(pred, target).item() == pytest.approx(31)


def random_pair(shape=(2, 3, 4, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    """Prediction and target whose residuals are all at least 0.05 away from zero, so the
    finite differences of |e| and |e|^p never straddle the kink."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=g, dtype=torch.float64)
    magnitude = 0.05 + 0.5 * torch.rand(shape, generator=g, dtype=torch.float64)
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0).double()
    return (target + sign * magnitude).requires_grad_(), target.requires_grad_()


@pytest.mark.parametrize(
    ("alpha", "beta", "p"), [(1.0, 1.0, 1.5), (0.1, 10.0, 1.2), (10.0, 0.1, 3.0), (1.0, 1.0, 1.0)]
)
def test_gradcheck_away_from_zero_residuals(alpha, beta, p):
    assert gradcheck(MixedNormLoss(alpha, beta, p), random_pair())


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_gradient_at_zero_residuals(p):
    """Exact pixels (e = 0) mixed with others: the gradient stays finite, 0 at the exact ones
    (the slope of e² and |e|^p, p > 1, and autograd's subgradient of |e|), and central finite
    differences agree (|e| is symmetric about 0)."""
    pred, target = random_pair((1, 1, 3, 4))
    with torch.no_grad():
        pred[..., 0, :] = target[..., 0, :]
    loss = MixedNormLoss(alpha=1.0, beta=1.0, p=p)
    loss(pred, target).backward()
    assert torch.isfinite(pred.grad).all()
    assert (pred.grad[..., 0, :] == 0).all() and (pred.grad[..., 1:, :] != 0).all()
    assert gradcheck(loss, (pred.detach().requires_grad_(), target.detach().requires_grad_()))


def test_registered_for_configs():
    built = LOSSES["mixed_norm"](**{"alpha": 0.1, "beta": 10, "p": 1.2})
    assert isinstance(built, MixedNormLoss)
    assert (built.alpha, built.beta, built.p) == (0.1, 10, 1.2)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"p": 0.5}, "p must be at least 1"),
        ({"p": float("nan")}, "p must be at least 1"),
        ({"alpha": -1.0}, "alpha"),
        ({"beta": float("inf")}, "beta"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_invalid_arguments(options, match):
    with pytest.raises(ValueError, match=match):
        MixedNormLoss(**options)
