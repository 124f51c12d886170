"""Per-pixel distances between a prediction and its target, e = pred - target elementwise.

Each loss maps e to a per-element value and reduces it: "mean" (default) over all elements, "sum",
or "none" (the elementwise tensor). Shapes must match exactly (no silent broadcasting).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CharbonnierLoss",
    "HuberLoss",
    "L1Loss",
    "LpLoss",
    "MSELoss",
    "Reduction",
    "check_same_shape",
    "reduce_loss",
]

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def check_same_shape(pred: torch.Tensor, target: torch.Tensor, what: str) -> None:
    """Raise ``ValueError`` unless ``pred`` and ``target`` have the same shape."""
    if pred.shape != target.shape:
        raise ValueError(
            f"{what}: prediction and target shapes differ, {tuple(pred.shape)} vs "
            f"{tuple(target.shape)}"
        )


def reduce_loss(values: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    """Mean, sum or no reduction of elementwise loss values."""
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


class _ElementwiseLoss(nn.Module):
    """Shared plumbing: shape check, e = pred - target, elementwise map, reduction."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(pred, target, type(self).__name__)
        return reduce_loss(self.elementwise(pred - target), self.reduction)


class L1Loss(_ElementwiseLoss):
    """L1 = mean |e|: the distortion loss of most SR recipes (robust, sharper than MSE)."""

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        return error.abs()


class MSELoss(_ElementwiseLoss):
    """MSE = mean e^2: maximises PSNR directly (BSR's L2 term)."""

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        return error.square()


class CharbonnierLoss(_ElementwiseLoss):
    """Charbonnier = mean sqrt(e^2 + eps^2): a differentiable L1 (smooth at e = 0).

    eps is *not* subtracted, so a perfect prediction scores eps, not 0 (BasicSR does not subtract
    either; note that BasicSR's ``eps`` argument is added unsquared, sqrt(e^2 + eps_basicsr), so its
    default 1e-12 corresponds to eps = 1e-6 here). Default eps = 1e-3.
    """

    def __init__(self, eps: float = 1e-3, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = eps

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(error.square() + self.eps**2)


class HuberLoss(_ElementwiseLoss):
    """Huber(delta) = mean of e^2 / 2 where |e| <= delta, delta * (|e| - delta / 2) elsewhere.

    Quadratic near zero, linear (L1-like, robust) beyond delta, continuous with a continuous first
    derivative at |e| = delta. CIPLAB uses delta = 0.01 on 0..1 images (Jo et al. 2020;
    docs/architectures.md §7).
    """

    def __init__(self, delta: float = 1.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"delta must be positive, got {delta}")
        self.delta = delta

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        return F.huber_loss(error, torch.zeros_like(error), reduction="none", delta=self.delta)


class LpLoss(_ElementwiseLoss):
    """Lp = mean |e|^p (p > 1 keeps the gradient continuous at 0); BSR's Lp term uses p = 1.5."""

    def __init__(self, p: float = 1.5, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if p <= 1:
            raise ValueError(f"p must be greater than 1 (use L1Loss for p = 1), got {p}")
        self.p = p

    def elementwise(self, error: torch.Tensor) -> torch.Tensor:
        return error.abs().pow(self.p)
