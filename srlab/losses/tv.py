"""The two losses that share the name "total variation" (docs/architectures.md §1.9).

Forward differences of x (B x C x H x W): d_h x = x[:, :, 1:, :] - x[:, :, :-1, :] (B x C x (H-1)
x W) and d_w x = x[:, :, :, 1:] - x[:, :, :, :-1] (B x C x H x (W-1)).
"""

from __future__ import annotations

import torch
from torch import nn

from srlab.losses.pixel import check_same_shape

__all__ = ["GradientL1Loss", "TVSquaredLoss"]


def _differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim != 4 or x.shape[2] < 2 or x.shape[3] < 2:
        raise ValueError(
            f"total variation needs B x C x H x W with H, W >= 2, got {tuple(x.shape)}"
        )
    return x[:, :, 1:, :] - x[:, :, :-1, :], x[:, :, :, 1:] - x[:, :, :, :-1]


class TVSquaredLoss(nn.Module):
    """Fast-SRFBN's squared TV regulariser of the prediction x alone:

    TV(x) = 2 * [ sum (d_h x)^2 / (C (H-1) W) + sum (d_w x)^2 / (C H (W-1)) ] / B,

    i.e. twice the sum of the mean squared vertical and horizontal differences. It penalises
    high-frequency noise in the output; Fast-SRFBN weights it 1e-7 on the 0–255 scale. ``target``
    is accepted and not used, so the regulariser fits the recipes' ``term(pred, target)`` calls.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        d_h, d_w = _differences(pred)
        return 2 * (d_h.square().mean() + d_w.square().mean())


class GradientL1Loss(nn.Module):
    """SRResCGAN's "L_tv", an L1 distance between the image gradients of pred x and target y:

    L(x, y) = [ sum |d_h x - d_h y| + sum |d_w x - d_w y| ] / (B C H W),

    i.e. both sums are divided by the full element count, not by the number of differences. It
    asks edges to match the target's rather than to vanish.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(pred, target, "GradientL1Loss")
        (ph, pw), (th, tw) = _differences(pred), _differences(target)
        return ((ph - th).abs().sum() + (pw - tw).abs().sum()) / pred.numel()
