"""Contextual loss (Mechrez et al. 2018; docs/architectures.md §1.8), used by G-MGBP."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from srlab.losses.vgg import VGG19Features, VGGInputRange

__all__ = ["ContextualLoss", "contextual_loss"]


def _positions(features: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> N x (H*W) x C."""
    return features.flatten(2).transpose(1, 2)


def contextual_loss(
    x: torch.Tensor, y: torch.Tensor, *, band_width: float = 0.5, eps: float = 1e-5
) -> torch.Tensor:
    """-log CX(X, Y) averaged over the batch, for feature maps x (generated) and y (target).

    x is N x C x H x W, y is N x C x H' x W' (the two sets may differ in size). See
    :class:`ContextualLoss` for the formula.
    """
    if x.ndim != 4 or y.ndim != 4 or x.shape[:2] != y.shape[:2]:
        raise ValueError(
            "contextual loss needs N x C x H x W feature maps with equal N and C, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    xs, ys = _positions(x), _positions(y)  # N x Nx x C, N x Ny x C
    mu = ys.mean(dim=1, keepdim=True)  # per image and channel, over the target's positions
    xs = F.normalize(xs - mu, dim=2)
    ys = F.normalize(ys - mu, dim=2)
    d = 1 - xs @ ys.transpose(1, 2)  # N x Nx x Ny, cosine distance d_ij
    d_rel = d / (d.min(dim=2, keepdim=True).values + eps)
    cx = torch.softmax((1 - d_rel) / band_width, dim=2)  # w_ij / sum_k w_ik
    cx_xy = cx.max(dim=1).values.mean(dim=1)  # (1/Ny) sum_j max_i CX_ij, per image
    return -torch.log(cx_xy).mean()


class ContextualLoss(nn.Module):
    """Contextual loss: -log CX(X, Y), averaged over the batch.

    For feature sets X = {x_i} (generated) and Y = {y_j} (target), one vector per position:
    1. centre both by the mean of Y (per image and channel, over positions), then L2-normalise
       every vector;
    2. cosine distance d_ij = 1 - <x_i, y_j>;
    3. relative distance r_ij = d_ij / (min_k d_ik + eps), eps = 1e-5;
    4. w_ij = exp((1 - r_ij) / h), band width h = 0.5;
    5. CX_ij = w_ij / sum_k w_ik and CX(X, Y) = (1/|Y|) sum_j max_i CX_ij;
    6. loss = -log CX(X, Y).
    It compares the *distributions* of features regardless of where they sit, so it can train on
    targets that are not pixel-aligned and rewards natural texture statistics. CX lies in (0, 1].
    For X = Y (distinct vectors), d_ii = 0 and r_ij = d_ij / eps, so
    CX_ii = 1 / (1 + sum_(j != i) exp(-d_ij / (eps h))): the loss is 0 up to those terms, i.e.
    exactly 0 in floating point unless two vectors are almost parallel after centring.

    With ``weights_path`` the sets are VGG19 features of the images at ``layer`` (default
    "relu3_4", post-ReLU conv3_4 as G-MGBP; target features without gradient); without it the
    inputs themselves are the feature maps (gradients reach both).

    Memory is O(|X| |Y|) per image: when a map has more than ``max_positions`` positions, that many
    are drawn at random (without replacement, the same draw for the whole batch, independently for
    X and Y) from ``generator`` — a ``torch.Generator`` or a seed for a private CPU generator — so a
    run is reproducible. ``max_positions=None`` never subsamples.
    """

    def __init__(
        self,
        *,
        band_width: float = 0.5,
        eps: float = 1e-5,
        max_positions: int | None = 4096,
        generator: torch.Generator | int = 0,
        weights_path: str | Path | None = None,
        layer: str = "relu3_4",
        input_range: VGGInputRange = "unit",
    ) -> None:
        super().__init__()
        if band_width <= 0 or eps <= 0:
            raise ValueError(f"band_width and eps must be positive, got {band_width}, {eps}")
        if max_positions is not None and max_positions < 1:
            raise ValueError(f"max_positions must be positive or None, got {max_positions}")
        self.band_width = band_width
        self.eps = eps
        self.max_positions = max_positions
        if isinstance(generator, int):
            generator = torch.Generator().manual_seed(generator)
        self.generator = generator
        self.layer = layer
        self.vgg = (
            None
            if weights_path is None
            else VGG19Features([layer], weights_path, input_range=input_range)
        )

    def _subsample(self, features: torch.Tensor) -> torch.Tensor:
        """N x C x H x W -> N x C x 1 x M with M = min(H*W, max_positions) positions."""
        flat = features.flatten(2).unsqueeze(2)
        count = flat.shape[-1]
        if self.max_positions is None or count <= self.max_positions:
            return flat
        pick = torch.randperm(count, generator=self.generator, device=self.generator.device)
        return flat[..., pick[: self.max_positions].to(features.device)]

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.vgg is not None:
            pred = self.vgg(pred)[self.layer]
            with torch.no_grad():
                target = self.vgg(target)[self.layer]
        return contextual_loss(
            self._subsample(pred),
            self._subsample(target),
            band_width=self.band_width,
            eps=self.eps,
        )
