"""Losses of a U-Net discriminator (Schönfeld et al. 2020), in the form CIPLAB trained with
(Jo et al. 2020; docs/architectures.md §7): hinge losses on its global (encoder) and per-pixel
(decoder) heads, and CutMix with the consistency loss.

Notation: C_g, C_p = the global and per-pixel logits; h(C, T) = mean over all elements of
T·relu(1 − C) + (1 − T)·relu(1 + C), the hinge loss with target T (1 = real, 0 = fake; a map of
targets, such as a CutMix mask, broadcasts over C).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srlab.losses.pixel import check_same_shape

__all__ = ["CutMixBox", "CutMixConsistencyLoss", "UNetHingeLoss", "hinge", "random_box"]


def hinge(logits: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """h(C, T) = mean of T·relu(1 − C) + (1 − T)·relu(1 + C); T = 1 or 0 gives the usual real
    or fake hinge term."""
    if isinstance(target, float | int):
        if target not in (0, 1):
            raise ValueError(f"a constant hinge target is 1 (real) or 0 (fake), got {target}")
        return F.relu(1 - logits).mean() if target == 1 else F.relu(1 + logits).mean()
    target = target.to(logits.dtype)
    return (target * F.relu(1 - logits) + (1 - target) * F.relu(1 + logits)).mean()


class UNetHingeLoss(nn.Module):
    """Hinge losses of a discriminator with a global and a per-pixel head.

    - D: h(C_g(real), 1) + h(C_p(real), 1) + h(C_g(fake), 0) + h(C_p(fake), T), the two heads
      summed as in both papers. T = 0 (default) judges every pixel of the fake input fake, also
      for a CutMix image (CIPLAB's code); T = the CutMix mask is the U-Net GAN paper's
      per-pixel target (the global head still calls a mixed image fake).
    - G: ½ [h(C_g(fake), 1) + h(C_p(fake), 1)], the heads averaged (CIPLAB's code; the paper
      uses the non-saturating form instead).
    Detaching the fake batch for the D step is the caller's job.
    """

    def generator(self, fake_global: torch.Tensor, fake_pixel: torch.Tensor) -> torch.Tensor:
        return 0.5 * (hinge(fake_global, 1) + hinge(fake_pixel, 1))

    def discriminator(
        self,
        real_global: torch.Tensor,
        real_pixel: torch.Tensor,
        fake_global: torch.Tensor,
        fake_pixel: torch.Tensor,
        fake_pixel_target: torch.Tensor | None = None,
    ) -> torch.Tensor:
        target = 0 if fake_pixel_target is None else fake_pixel_target
        real = hinge(real_global, 1) + hinge(real_pixel, 1)
        return real + hinge(fake_global, 0) + hinge(fake_pixel, target)

    def forward(self, fake_global: torch.Tensor, fake_pixel: torch.Tensor) -> torch.Tensor:
        return self.generator(fake_global, fake_pixel)


@dataclass(frozen=True)
class CutMixBox:
    """Rows top..bottom−1 and columns left..right−1 of an image (possibly empty)."""

    top: int
    left: int
    bottom: int
    right: int

    def paste(self, into: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """A copy of ``into`` (N×C×H×W) with the box taken from ``source``; gradients reach
        both, neither is modified."""
        check_same_shape(into, source, "CutMixBox.paste")
        mixed = into.clone()
        rows, cols = slice(self.top, self.bottom), slice(self.left, self.right)
        mixed[..., rows, cols] = source[..., rows, cols]
        return mixed

    def mask(self, like: torch.Tensor) -> torch.Tensor:
        """1×1×H×W map, 1 inside the box, 0 elsewhere, in ``like``'s dtype and device (H, W
        from ``like``)."""
        mask = like.new_zeros(1, 1, *like.shape[-2:])
        mask[..., self.top : self.bottom, self.left : self.right] = 1
        return mask


def random_box(height: int, width: int, generator: torch.Generator | None = None) -> CutMixBox:
    """CutMix's box (Yun et al. 2019) as CIPLAB draws it: r ~ U(0, 1), sides ⌊H·√(1 − r)⌋ and
    ⌊W·√(1 − r)⌋ (so about a 1 − r share of the image), centre (y, x) uniform over the pixels,
    half-sides rounded down and the box clipped at the borders."""
    ratio = torch.rand((), generator=generator).item()
    side_h, side_w = int(height * (1 - ratio) ** 0.5), int(width * (1 - ratio) ** 0.5)
    cy = int(torch.randint(height, (), generator=generator))
    cx = int(torch.randint(width, (), generator=generator))
    return CutMixBox(
        top=min(max(cy - side_h // 2, 0), height),
        left=min(max(cx - side_w // 2, 0), width),
        bottom=min(max(cy + side_h // 2, 0), height),
        right=min(max(cx + side_w // 2, 0), width),
    )


class CutMixConsistencyLoss(nn.Module):
    """U-Net GAN's consistency regulariser: mean (C_p(mix) − [M·C_p(real) + (1 − M)·C_p(fake)])²,
    mix being the fake image with the real one pasted where the mask M is 1. The per-pixel
    verdict on a mixed image should be the same mix of the verdicts on its two sources; like
    the papers' code, nothing is detached, so D is trained through all three terms."""

    def forward(
        self,
        mixed_pixel: torch.Tensor,
        fake_pixel: torch.Tensor,
        real_pixel: torch.Tensor,
        real_mask: torch.Tensor,
    ) -> torch.Tensor:
        check_same_shape(mixed_pixel, fake_pixel, "CutMixConsistencyLoss")
        check_same_shape(mixed_pixel, real_pixel, "CutMixConsistencyLoss")
        mask = real_mask.to(mixed_pixel.dtype)
        target = mask * real_pixel + (1 - mask) * fake_pixel
        return (mixed_pixel - target).square().mean()
