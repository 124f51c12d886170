"""Weighted sums of loss terms, and the config-name registry."""

import pytest
import torch
from torch import nn

from srlab import losses
from srlab.losses import LOSSES, WeightedSum


def test_total_and_detached_unweighted_logs():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    total, logs = WeightedSum({"pixel": 0.5, "gan": 4.0})({"pixel": a * 1, "gan": b * 1})
    assert total.item() == 0.5 * 2 + 4 * 3
    assert logs == {"pixel": 2.0, "gan": 3.0}
    assert all(not v.requires_grad for v in logs.values())
    total.backward()
    assert (a.grad.item(), b.grad.item()) == (0.5, 4.0)


def test_zero_weight_terms_may_be_left_out():
    total, logs = WeightedSum({"l1": 2.0, "gram": 0.0})({"l1": torch.tensor(1.5)})
    assert total.item() == 3.0 and set(logs) == {"l1"}


def test_missing_and_unknown_terms_are_errors():
    weighted = WeightedSum({"l1": 1.0, "perceptual": 0.01})
    with pytest.raises(KeyError, match=r"unknown \['percptual'\], missing \['perceptual'\]"):
        weighted({"l1": torch.tensor(1.0), "percptual": torch.tensor(1.0)})


def test_non_scalar_and_empty():
    with pytest.raises(ValueError, match="scalars"):
        WeightedSum({"l1": 1.0})({"l1": torch.ones(2)})
    with pytest.raises(ValueError, match="at least one"):
        WeightedSum({})


def test_registry_names_and_classes():
    expected = {
        "l1", "mse", "charbonnier", "huber", "lp", "perceptual", "lpips", "contextual",
        "tv_squared", "gradient_l1", "fourier", "ssim", "ms_ssim", "mixed_norm",
    }  # fmt: skip
    assert set(LOSSES) == expected
    assert type(LOSSES) is dict
    for name, cls in LOSSES.items():
        assert issubclass(cls, nn.Module), name
        assert cls.__name__ in losses.__all__, name


@pytest.mark.parametrize(
    ("name", "kwargs", "value"),
    [
        ("l1", {}, 0.5),
        ("mse", {}, 0.5),
        ("charbonnier", {"eps": 1e-3}, (0.5 * (1 + 1e-6) ** 0.5 + 0.5 * 1e-3)),
        ("huber", {"delta": 0.5}, 0.5 * 0.375),
        ("lp", {"p": 2.0}, 0.5),
        ("fourier", {}, 0.5),  # spectra (1, -1) and (2, 0): mean of |-1|, |-1|, 0, 0
    ],
)
def test_registry_builds_from_config_kwargs(name, kwargs, value):
    pred = torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64)
    target = torch.tensor([[[[1.0, 1.0]]]], dtype=torch.float64)
    assert LOSSES[name](**kwargs)(pred, target).item() == pytest.approx(value)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("l1", {}), ("mse", {}), ("charbonnier", {}), ("huber", {"delta": 0.01}), ("lp", {}),
        ("tv_squared", {}), ("gradient_l1", {}), ("fourier", {}), ("ssim", {}),
        ("ms_ssim", {"weights": (0.5, 0.5)}),
    ],
)  # fmt: skip
def test_image_losses_take_pred_and_target(name, kwargs):
    # the recipes call every configured term as term(pred, target)
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(2, 3, 24, 24, generator=g, requires_grad=True)
    target = torch.rand(2, 3, 24, 24, generator=g)
    value = LOSSES[name](**kwargs)(pred, target)
    assert value.ndim == 0 and torch.isfinite(value) and value.item() > 0
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
