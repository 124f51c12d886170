"""Adversarial losses at hand-computable logits, logit shapes, RaGAN symmetry and detaching,
discriminator feature matching and the cycle loss."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from srlab.losses import CycleLoss, FeatureMatchingLoss, GANLoss, HuberLoss, MSELoss

LOG2 = math.log(2.0)


def t(*values: float, grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).view(-1, 1).requires_grad_(grad)


@pytest.mark.parametrize(
    ("kind", "hinge_generator", "g_value", "d_value"),
    [
        ("vanilla", "standard", LOG2, 2 * LOG2),
        ("lsgan", "standard", 1.0, 1.0),
        ("hinge", "standard", 0.0, 2.0),
        ("hinge", "ciplab", 1.0, 2.0),
        ("ragan", "standard", LOG2, LOG2),
    ],
)
def test_values_at_zero_logits(kind, hinge_generator, g_value, d_value):
    loss = GANLoss(kind, hinge_generator=hinge_generator)
    zeros = torch.zeros(4, 1, dtype=torch.float64)
    assert loss.generator(zeros, zeros).item() == pytest.approx(g_value)
    assert loss(zeros, zeros).item() == pytest.approx(g_value)  # forward is the G loss
    assert loss.discriminator(zeros, zeros).item() == pytest.approx(d_value)


def test_vanilla_matches_bce_with_logits():
    real, fake = t(2.0, -1.0, 0.5), t(-3.0, 0.25, 1.0)
    loss = GANLoss("vanilla")
    bce = F.binary_cross_entropy_with_logits
    assert loss.generator(fake).item() == pytest.approx(bce(fake, torch.ones_like(fake)).item())
    expected = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    assert loss.discriminator(real, fake).item() == pytest.approx(expected.item())


def test_lsgan_hand_values():
    loss = GANLoss("lsgan")
    assert loss.generator(t(3.0, 1.0)).item() == pytest.approx(2.0)  # (4 + 0) / 2
    assert loss.discriminator(t(1.0, 3.0), t(2.0, 0.0)).item() == pytest.approx(2.0 + 2.0)


def test_hinge_hand_values_and_the_two_generator_forms():
    fake = t(2.0, -0.5)
    assert GANLoss("hinge").generator(fake).item() == pytest.approx(-0.75)
    assert GANLoss("hinge", hinge_generator="ciplab").generator(fake).item() == 0.75
    # D: relu(1 - [2, 0.5]) -> [0, 0.5]; relu(1 + [-2, 0.5]) -> [0, 1.5]
    assert GANLoss("hinge").discriminator(t(2.0, 0.5), t(-2.0, 0.5)).item() == 0.25 + 0.75


def test_ragan_constant_logits():
    # C_r = a, C_f = b everywhere: D = softplus(b - a), G = softplus(a - b)
    loss = GANLoss("ragan")
    real, fake = torch.full((3, 1), 2.0), torch.full((3, 1), -1.0)
    assert loss.discriminator(real, fake).item() == pytest.approx(math.log1p(math.exp(-3.0)))
    assert loss.generator(fake, real).item() == pytest.approx(math.log1p(math.exp(3.0)))


def test_ragan_generator_is_the_discriminator_loss_with_roles_swapped():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 1, generator=g), torch.randn(5, 1, generator=g)
    loss = GANLoss("ragan")
    torch.testing.assert_close(loss.generator(x, real_logits=y), loss.discriminator(x, y))


def test_ragan_generator_detaches_real_logits():
    real, fake = t(0.3, -1.2, grad=True), t(0.7, 2.0, grad=True)
    GANLoss("ragan").generator(fake, real).backward()
    assert real.grad is None
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_ragan_discriminator_trains_on_both():
    real, fake = t(0.3, -1.2, grad=True), t(0.7, 2.0, grad=True)
    GANLoss("ragan").discriminator(real, fake).backward()
    assert real.grad.abs().sum() > 0 and fake.grad.abs().sum() > 0


def test_ragan_generator_needs_real_logits():
    with pytest.raises(ValueError, match="real_logits"):
        GANLoss("ragan").generator(t(0.0))


@pytest.mark.parametrize("kind", ["vanilla", "lsgan", "hinge", "ragan"])
def test_maps_average_over_batch_and_positions(kind):
    g = torch.Generator().manual_seed(1)
    real = torch.randn(2, 1, 3, 4, generator=g, dtype=torch.float64)
    fake = torch.randn(2, 1, 3, 4, generator=g, dtype=torch.float64)
    loss = GANLoss(kind)
    flat_real, flat_fake = real.reshape(-1, 1), fake.reshape(-1, 1)
    torch.testing.assert_close(loss.generator(fake, real), loss.generator(flat_fake, flat_real))
    torch.testing.assert_close(
        loss.discriminator(real, fake), loss.discriminator(flat_real, flat_fake)
    )


@pytest.mark.parametrize("kind", ["vanilla", "lsgan", "hinge", "ragan"])
def test_lists_of_heads_average_the_per_head_losses(kind):
    g = torch.Generator().manual_seed(2)
    real = [torch.randn(2, 1, generator=g), torch.randn(2, 1, 4, 4, generator=g)]
    fake = [torch.randn(2, 1, generator=g), torch.randn(2, 1, 4, 4, generator=g)]
    loss = GANLoss(kind, hinge_generator="ciplab")
    g_heads = [loss.generator(f, r) for f, r in zip(fake, real, strict=True)]
    d_heads = [loss.discriminator(r, f) for f, r in zip(fake, real, strict=True)]
    torch.testing.assert_close(loss.generator(fake, real), (g_heads[0] + g_heads[1]) / 2)
    torch.testing.assert_close(loss.discriminator(real, fake), (d_heads[0] + d_heads[1]) / 2)


def test_mismatched_heads_and_bad_arguments():
    loss = GANLoss("hinge")
    with pytest.raises(ValueError, match="different numbers of heads"):
        loss.discriminator([t(0.0), t(0.0)], [t(0.0)])
    with pytest.raises(ValueError, match="empty"):
        loss.generator([])
    with pytest.raises(ValueError, match="kind"):
        GANLoss("wgan")
    with pytest.raises(ValueError, match="hinge_generator"):
        GANLoss("hinge", hinge_generator="relu")


@pytest.mark.parametrize(
    ("kind", "hinge_generator"),
    [("vanilla", "standard"), ("lsgan", "standard"), ("hinge", "standard"),
     ("hinge", "ciplab"), ("ragan", "standard")],
)  # fmt: skip
def test_gradcheck(kind, hinge_generator):
    g = torch.Generator().manual_seed(3)
    real = torch.randn(3, 1, 2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(3, 1, 2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    loss = GANLoss(kind, hinge_generator=hinge_generator)
    assert gradcheck(loss.discriminator, (real, fake))
    assert gradcheck(lambda f: loss.generator(f, real), (fake,))


# ---- feature matching -----------------------------------------------------------------------


def test_feature_matching_hand_value():
    fake = [torch.tensor([[0.0, 1.0]]), torch.tensor([[2.0]])]
    real = [torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0]])]
    assert FeatureMatchingLoss()(fake, real).item() == pytest.approx((0.5 + 2.0) / 2)
    assert FeatureMatchingLoss(MSELoss())(fake, real).item() == pytest.approx((0.5 + 4.0) / 2)
    huber = FeatureMatchingLoss(HuberLoss(delta=0.01))(fake, real).item()
    assert huber == pytest.approx((0.01 * 0.995 / 2 + 0.01 * 1.995) / 2)


def test_feature_matching_gradients_reach_fake_only():
    fake = [torch.randn(2, 4, 3, 3, requires_grad=True), torch.randn(2, 8, requires_grad=True)]
    real = [torch.randn(2, 4, 3, 3, requires_grad=True), torch.randn(2, 8, requires_grad=True)]
    FeatureMatchingLoss()(fake, real).backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in fake)
    assert all(r.grad is None for r in real)


def test_feature_matching_gradcheck():
    g = torch.Generator().manual_seed(4)
    fake = torch.randn(2, 3, 2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    real = torch.randn(2, 3, 2, 2, generator=g, dtype=torch.float64)
    deep = torch.randn(2, 5, generator=g, dtype=torch.float64)
    loss = FeatureMatchingLoss()
    assert gradcheck(lambda f: loss([f, f[:, :1, 0, 0] * 2], [real, deep[:, :1]]), (fake,))


def test_feature_matching_length_mismatch():
    with pytest.raises(ValueError, match="equally long"):
        FeatureMatchingLoss()([torch.zeros(1)], [torch.zeros(1), torch.zeros(1)])


# ---- cycle ------------------------------------------------------------------------------------


def test_cycle_hand_value_and_weight():
    x, x_cycle = t(0.0, 1.0, grad=True), t(1.0, 1.0, grad=True)
    loss = CycleLoss(weight=10.0)(x, x_cycle)
    assert loss.item() == pytest.approx(5.0)  # 10 * mean(|0 - 1|, |1 - 1|)
    loss.backward()
    assert x.grad[0].item() == pytest.approx(-5.0) and x_cycle.grad[0].item() == pytest.approx(5.0)


def test_cycle_gradcheck():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(CycleLoss(2.0), (x, y))
