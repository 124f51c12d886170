"""Adversarial losses, discriminator feature matching, and the cycle loss.

Which system uses which formulation: docs/architectures.md §1.7.

Notation: C = raw discriminator logit, BCE(c, t) = binary cross-entropy with logits,
BCE(c, 1) = softplus(-c), BCE(c, 0) = softplus(c). Logits may be N x 1, per-pixel maps
N x 1 x H x W (U-Net discriminator), or a list of such tensors (several heads or scales): every
mean below is over all elements of one tensor (batch and positions), and the loss of a list is the
mean of the per-tensor losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srlab.losses.pixel import L1Loss, check_same_shape

__all__ = ["CycleLoss", "FeatureMatchingLoss", "GANKind", "GANLoss", "Logits"]

GANKind = Literal["vanilla", "lsgan", "hinge", "ragan"]
Logits = torch.Tensor | Sequence[torch.Tensor]
_KINDS = ("vanilla", "lsgan", "hinge", "ragan")
_HINGE_GENERATORS = ("standard", "ciplab")


def _as_list(logits: Logits, what: str) -> list[torch.Tensor]:
    heads = [logits] if isinstance(logits, torch.Tensor) else list(logits)
    if not heads:
        raise ValueError(f"{what}: empty list of logits")
    return heads


def _per_head(
    loss: Callable[..., torch.Tensor], *groups: Logits, names: Sequence[str]
) -> torch.Tensor:
    """Mean over heads of ``loss`` applied to corresponding tensors of each group."""
    lists = [_as_list(g, n) for g, n in zip(groups, names, strict=True)]
    if len({len(x) for x in lists}) > 1:
        raise ValueError(f"{' and '.join(names)} have different numbers of heads")
    return torch.stack([loss(*heads) for heads in zip(*lists, strict=True)]).mean()


class GANLoss(nn.Module):
    """Generator and discriminator losses of one adversarial formulation.

    ``kind``:
    - "vanilla" (non-saturating): D = mean BCE(C_r, 1) + mean BCE(C_f, 0); G = mean BCE(C_f, 1).
    - "lsgan": D = mean (C_r - 1)^2 + mean C_f^2; G = mean (C_f - 1)^2.
    - "hinge": D = mean relu(1 - C_r) + mean relu(1 + C_f); G = -mean C_f with
      ``hinge_generator="standard"`` or mean relu(1 - C_f) with "ciplab" (CIPLAB's code).
    - "ragan" (relativistic average, ESRGAN form), with C_r, C_f the logits of real and fake:
      D = 1/2 [mean BCE(C_r - mean C_f, 1) + mean BCE(C_f - mean C_r, 0)],
      G = 1/2 [mean BCE(C_r - mean C_f, 0) + mean BCE(C_f - mean C_r, 1)], C_r detached in G.
    Call :meth:`generator` in the G step (``forward`` is the same) and :meth:`discriminator` in
    the D step; detaching the fake batch for the D step is the caller's job. ``real_logits`` is
    required by "ragan" in the G step and ignored by the other kinds.
    """

    def __init__(
        self,
        kind: GANKind = "vanilla",
        *,
        hinge_generator: Literal["standard", "ciplab"] = "standard",
    ) -> None:
        super().__init__()
        if kind not in _KINDS:
            raise ValueError(f"GAN kind must be one of {_KINDS}, got {kind!r}")
        if hinge_generator not in _HINGE_GENERATORS:
            raise ValueError(
                f"hinge_generator must be one of {_HINGE_GENERATORS}, got {hinge_generator!r}"
            )
        self.kind = kind
        self.hinge_generator = hinge_generator
        ciplab = kind == "hinge" and hinge_generator == "ciplab"
        self._generator_key = "hinge_ciplab" if ciplab else kind

    def generator(self, fake_logits: Logits, real_logits: Logits | None = None) -> torch.Tensor:
        """Adversarial loss of the generator given D's logits on its output (and on real data)."""
        if self.kind == "ragan":
            if real_logits is None:
                raise ValueError("the relativistic GAN loss needs real_logits in the G step too")
            return _per_head(
                _ragan_generator, fake_logits, real_logits, names=("fake_logits", "real_logits")
            )
        return _per_head(_GENERATOR[self._generator_key], fake_logits, names=("fake_logits",))

    def discriminator(self, real_logits: Logits, fake_logits: Logits) -> torch.Tensor:
        """Discriminator loss given its logits on real data and on (detached) generated data."""
        return _per_head(
            _DISCRIMINATOR[self.kind],
            real_logits,
            fake_logits,
            names=("real_logits", "fake_logits"),
        )

    def forward(self, fake_logits: Logits, real_logits: Logits | None = None) -> torch.Tensor:
        return self.generator(fake_logits, real_logits)


def _ragan_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real_rel = real - fake.mean()
    fake_rel = fake - real.mean()
    return 0.5 * (F.softplus(-real_rel).mean() + F.softplus(fake_rel).mean())


def _ragan_generator(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    real = real.detach()
    real_rel = real - fake.mean()
    fake_rel = fake - real.mean()
    return 0.5 * (F.softplus(real_rel).mean() + F.softplus(-fake_rel).mean())


_GENERATOR: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "vanilla": lambda fake: F.softplus(-fake).mean(),
    "lsgan": lambda fake: (fake - 1).square().mean(),
    "hinge": lambda fake: -fake.mean(),
    "hinge_ciplab": lambda fake: F.relu(1 - fake).mean(),
}

_DISCRIMINATOR: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "vanilla": lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
    "lsgan": lambda real, fake: (real - 1).square().mean() + fake.square().mean(),
    "hinge": lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
    "ragan": _ragan_discriminator,
}


class FeatureMatchingLoss(nn.Module):
    """Discriminator feature matching: (1/L) sum over layers l of D(f_l(fake), f_l(real)).

    f_l are D's intermediate features (lists of equal length, matching shapes per layer), D is
    ``criterion`` (default mean absolute difference; pass e.g. ``MSELoss()`` or
    ``HuberLoss(delta=0.01)`` as CIPLAB). Real features are detached, so gradients reach the fake
    branch only; freezing D's parameters in the G step remains the caller's job. Matching D's
    statistics stabilises adversarial training and adds a learned perceptual distance.
    """

    def __init__(self, criterion: nn.Module | None = None) -> None:
        super().__init__()
        self.criterion = criterion if criterion is not None else L1Loss()

    def forward(
        self, fake_features: Sequence[torch.Tensor], real_features: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        if not fake_features or len(fake_features) != len(real_features):
            raise ValueError(
                "feature matching needs two equally long, non-empty lists of features, got "
                f"{len(fake_features)} and {len(real_features)}"
            )
        terms = [
            self.criterion(fake, real.detach())
            for fake, real in zip(fake_features, real_features, strict=True)
        ]
        return torch.stack(terms).mean()


class CycleLoss(nn.Module):
    """Cycle-consistency loss: weight * mean |x - x_cycle|, x_cycle = G_LR(G_SR(x)).

    It ties the SR generator to a learned degradation so that its output stays consistent with
    the input (SRResCycGAN's L_cyc, weight 10 in the recipe). Gradients reach both arguments.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, x: torch.Tensor, x_cycle: torch.Tensor) -> torch.Tensor:
        check_same_shape(x_cycle, x, "CycleLoss")
        return self.weight * (x - x_cycle).abs().mean()
