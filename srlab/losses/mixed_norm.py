"""BSR's mixed-norm loss (Kong 2020, ITU Kaleidoscope slides): f = L2 + α·L1 + β·Lp.

The slides' claim is that the norm of the loss trades smoothness (L2) against sharpness (L1 and
below), so BSR mixes them. The slides give neither α, β nor p; srlab's defaults (α = β = 1,
p = 1.5 on 0..1 images) and the reasons are in docs/architectures.md §8.5. With β = 0 (and
α = 0) the same loss gives the slides' ablation variants L2 + L1 (and L2).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from srlab.losses.pixel import L1Loss, LpLoss, MSELoss, Reduction

__all__ = ["MixedNormLoss"]


class MixedNormLoss(nn.Module):
    """mean e² + α·mean |e| + β·mean |e|^p for e = pred − target (each term reduced alike).

    At a zero residual every term has slope 0: e² and |e|^p (p > 1) are differentiable there,
    and for |e| (the L1 term, and the Lp term when p = 1, which is then L1 itself) autograd
    takes the subgradient 0. p < 1 is refused: |e|^p has an infinite slope at e = 0, so a
    single exact pixel would make the gradient infinite or NaN.
    """

    def __init__(
        self, alpha: float = 1.0, beta: float = 1.0, p: float = 1.5, reduction: Reduction = "mean"
    ) -> None:
        super().__init__()
        for name, weight in (("alpha", alpha), ("beta", beta)):
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"{name} must be a finite weight >= 0, got {weight}")
        if not (math.isfinite(p) and p >= 1):
            raise ValueError(f"p must be at least 1 (|e|^p has an infinite slope at 0), got {p}")
        self.alpha = alpha
        self.beta = beta
        self.p = p
        self.l2 = MSELoss(reduction)
        self.l1 = L1Loss(reduction)
        self.lp = LpLoss(p, reduction) if p > 1 else self.l1

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = self.l2(pred, target)
        if self.alpha:
            loss = loss + self.alpha * self.l1(pred, target)
        if self.beta:
            loss = loss + self.beta * self.lp(pred, target)
        return loss

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, p={self.p}"
