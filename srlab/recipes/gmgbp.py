"""G-MGBP's noise-adaptive multi-scale training (Navarrete Michelini et al. 2018, G-MGBP).

Per configuration L (L ×2 levels): the HR patch P gives the input S↓(2^L)(P) (rounded to 8 bit,
as photos are) and the targets T_k = S↓(2^(L−k))(P) of every level k = 1..L. The generator runs
at W = 0, where the reconstruction L1 and the back-projection terms
‖S↓(2^f)(Y_k) − S↓(2^f)(T_k)‖₁ (f = 1..k) apply; with `perceptual` it runs again at W = 1, where
only the back-projection terms, the contextual loss and the GAN term apply, so the pixel loss
never sees noise. S↓ is the differentiable MATLAB bicubic shrink.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srlab.config import ConfigError
from srlab.losses import ContextualLoss, GANLoss
from srlab.ops.resize import imresize
from srlab.recipes.base import Phase, Recipe, RecipeConfig, RecipeKind


@dataclass
class GMGBPConfig(RecipeConfig):
    """G-MGBP's noise-adaptive multi-scale losses.

    Each iteration trains every configuration L in `configurations` (L ×2 levels, input the HR
    patch shrunk by 2^L, every level supervised): L1 and back-projection terms on the W = 0
    outputs; with `perceptual`, also a W = 1 pass with back-projection terms, the contextual
    loss at VGG19 conv3_4 (when `vgg_weights` is given) and the GAN term (when
    `discriminator` names a network).
    """

    kind: Literal["gmgbp"] = "gmgbp"
    configurations: list[int] = field(default_factory=lambda: [1, 2, 3])
    l1_weight: float = 10.0
    back_projection_weight: float = 10.0
    perceptual: bool = False
    contextual_weight: float = 0.1
    vgg_weights: Path | None = None
    gan_weight: float = 1e-3
    discriminator: str | None = None

    def __post_init__(self) -> None:
        if not self.configurations or min(self.configurations) < 1:
            raise ConfigError(
                f"configurations: must be level counts >= 1, got {self.configurations}"
            )

    def roles(self) -> dict[str, str]:
        extra = {} if self.discriminator is None else {"discriminator": self.discriminator}
        return {**super().roles(), **extra}


def shrink(x: torch.Tensor, factor: int) -> torch.Tensor:
    """MATLAB bicubic shrink by an integer factor (identity for 1)."""
    return x if factor == 1 else imresize(x, scale=1 / factor)


class GMGBPRecipe(Recipe):
    def __init__(self, cfg: GMGBPConfig) -> None:
        super().__init__()
        self.opts = cfg
        self.generator = cfg.generator
        self.contextual = None
        if self.opts.perceptual and self.opts.vgg_weights is not None:
            self.contextual = ContextualLoss(weights_path=self.opts.vgg_weights)
        self.gan = GANLoss("vanilla")

    @property
    def adversarial(self) -> bool:
        return self.opts.perceptual and self.opts.discriminator is not None

    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        g = nets[self.generator]
        d = nets[self.opts.discriminator] if self.adversarial else None
        hr = batch["hr"]
        total = hr.new_zeros(())
        logs: dict[str, torch.Tensor] = {}
        pyramids = []
        for levels in self.opts.configurations:
            side = 2**levels
            if hr.shape[-1] % side or hr.shape[-2] % side:
                raise ValueError(f"HR patches must be multiples of {side} for {levels} levels")
            lr = shrink(hr, side).clamp(0, 1).mul(255).round().div(255)
            targets = [shrink(hr, 2 ** (levels - k)) for k in range(1, levels + 1)]
            loss, parts, fakes = self._configuration(g, d, lr, targets, levels)
            total = total + loss
            logs.update({f"L{levels}_{k}": v for k, v in parts.items()})
            if fakes is not None:
                pyramids.append((targets, fakes))
        yield Phase((self.generator,), total, logs)

        if d is not None:
            d_loss = hr.new_zeros(())
            for targets, fakes in pyramids:
                d_loss = d_loss + self.gan.discriminator(
                    d(targets), d([f.detach() for f in fakes])
                )
            yield Phase((self.opts.discriminator,), d_loss, {"d_gan": d_loss.detach()})

    def _configuration(
        self,
        g: nn.Module,
        d: nn.Module | None,
        lr: torch.Tensor,
        targets: list[torch.Tensor],
        levels: int,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[torch.Tensor] | None]:
        """This configuration's generator loss, its logged parts, and the W = 1 outputs when
        the discriminator is to see them."""
        o = self.opts
        faithful = g(lr, 0.0, levels=levels)
        l1 = sum(F.l1_loss(y, t) for y, t in zip(faithful, targets, strict=True))
        bp0 = self._back_projection(faithful, targets)
        loss = o.l1_weight * l1 + o.back_projection_weight * bp0
        parts: dict[str, torch.Tensor] = {"l1": l1.detach(), "bp_w0": bp0.detach()}
        if not o.perceptual:
            return loss, parts, None
        noisy = g(lr, 1.0, levels=levels)
        bp1 = self._back_projection(noisy, targets)
        loss = loss + o.back_projection_weight * bp1
        parts["bp_w1"] = bp1.detach()
        if self.contextual is not None:
            cx = sum(self.contextual(y, t) for y, t in zip(noisy, targets, strict=True))
            loss = loss + o.contextual_weight * cx
            parts["cx"] = cx.detach()
        if d is not None:
            adv = self.gan.generator(d(noisy))
            loss = loss + o.gan_weight * adv
            parts["g_gan"] = adv.detach()
        return loss, parts, noisy if d is not None else None

    @staticmethod
    def _back_projection(outputs: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
        """Σ_k Σ_{f=1..k} ‖S↓(2^f)(Y_k) − S↓(2^f)(T_k)‖₁, level k = 1 being the ×2 output."""
        total = outputs[0].new_zeros(())
        for k, (y, t) in enumerate(zip(outputs, targets, strict=True), start=1):
            for f in range(1, k + 1):
                total = total + F.l1_loss(shrink(y, 2**f), shrink(t, 2**f))
        return total


RECIPE = RecipeKind(GMGBPRecipe, GMGBPConfig)
