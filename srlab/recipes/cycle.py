"""SRResCGAN and SRResCycGAN training (Umer et al. 2020), on the 0–255 scale as the authors.

Phases per iteration: G_SR (pixel, perceptual, gradient and RaGAN terms, plus the cycle term
when the cycle path is on); G_LR (cycle term and its LR-domain GAN term); D_x (RaGAN on
high-pass HR images); D_y (BCE on LR images, averaged over its logit map). Each generator
minimises only its own loss: the cycle term reaches G_SR through G_SR's phase and G_LR through
its own. Mixup blends random pairs of the batch, LR and HR alike, with probability `mixup`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srlab.config import ConfigError
from srlab.losses import GANLoss, GradientL1Loss, PerceptualLoss
from srlab.recipes.base import Phase, Recipe, RecipeConfig, RecipeKind

PIXELS = 255.0  # the authors' losses see 0–255 images


@dataclass
class CycleConfig(RecipeConfig):
    """SRResCGAN (`cycle: false`) and SRResCycGAN (`cycle: true`) losses, on the 0–255 scale.
    G_SR: perceptual (VGG19 conv5_4 before ReLU on raw 0–255 input, only when `vgg_weights` is
    given) + RaGAN with the high-pass discriminator `hr_discriminator` + gradient "TV" + 10·L1 +
    10·cycle. G_LR (`lr_generator`): 10·cycle + BCE GAN against `lr_discriminator`. Mixup of LR
    and HR with probability `mixup` per batch."""

    kind: Literal["cycle"] = "cycle"
    cycle: bool = True
    perceptual_weight: float = 1.0
    vgg_weights: Path | None = None
    gan_weight: float = 1.0
    tv_weight: float = 1.0
    l1_weight: float = 10.0
    cycle_weight: float = 10.0
    lr_gan_weight: float = 1.0
    hr_discriminator: str = "d_x"
    lr_generator: str = "g_lr"
    lr_discriminator: str = "d_y"
    mixup: float = 0.5
    mixup_alpha: float = 1.2

    def __post_init__(self) -> None:
        if not 0 <= self.mixup <= 1:
            raise ConfigError(f"mixup: must be a probability in 0..1, got {self.mixup}")
        if self.mixup_alpha <= 0:
            raise ConfigError(f"mixup_alpha: must be positive, got {self.mixup_alpha}")

    def roles(self) -> dict[str, str]:
        roles = {**super().roles(), "hr_discriminator": self.hr_discriminator}
        if self.cycle:
            roles |= {"lr_generator": self.lr_generator, "lr_discriminator": self.lr_discriminator}
        return roles


def mixup(
    lr: torch.Tensor, hr: torch.Tensor, probability: float, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """With `probability`, blend each sample with a random other one by λ ~ Beta(α, α)
    (one λ per batch, the same for LR and HR); draws from torch's global generator."""
    if probability <= 0 or torch.rand(()).item() >= probability:
        return lr, hr
    lam = torch.distributions.Beta(alpha, alpha).sample().item()
    perm = torch.randperm(lr.shape[0])
    return lam * lr + (1 - lam) * lr[perm], lam * hr + (1 - lam) * hr[perm]


class CycleRecipe(Recipe):
    def __init__(self, cfg: CycleConfig) -> None:
        super().__init__()
        self.opts = cfg
        self.generator = cfg.generator
        self.perceptual = None
        if self.opts.vgg_weights is not None:
            self.perceptual = PerceptualLoss(
                {"conv5_4": 1.0}, self.opts.vgg_weights, input_range="raw255"
            )
        self.tv = GradientL1Loss()
        self.ragan = GANLoss("ragan")
        self.bce = GANLoss("vanilla")

    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        o = self.opts
        g, d_x = nets[self.generator], nets[o.hr_discriminator]
        lr, hr = mixup(batch["lr"], batch["hr"], o.mixup, o.mixup_alpha)
        sr = g(lr)

        logs: dict[str, torch.Tensor] = {}
        l1 = F.l1_loss(sr, hr) * PIXELS
        tv = self.tv(sr, hr) * PIXELS
        adv = self.ragan.generator(d_x(sr), d_x(hr).detach())
        loss = o.l1_weight * l1 + o.tv_weight * tv + o.gan_weight * adv
        logs |= {"l1": l1.detach(), "tv": tv.detach(), "g_gan": adv.detach()}
        if self.perceptual is not None:
            per = self.perceptual(sr * PIXELS, hr * PIXELS)
            loss = loss + o.perceptual_weight * per
            logs["perceptual"] = per.detach()
        back = None
        if o.cycle:
            back = nets[o.lr_generator](sr)
            cyc = F.l1_loss(back, lr) * PIXELS
            loss = loss + o.cycle_weight * cyc
            logs["cycle"] = cyc.detach()
        yield Phase((self.generator,), loss, logs)

        if back is not None:
            d_y = nets[o.lr_discriminator]
            back = nets[o.lr_generator](sr.detach())
            cyc = F.l1_loss(back, lr) * PIXELS
            lr_adv = self.bce.generator(d_y(back))
            yield Phase(
                (o.lr_generator,),
                o.cycle_weight * cyc + o.lr_gan_weight * lr_adv,
                {"g_lr_gan": lr_adv.detach()},
            )

        d_x_loss = self.ragan.discriminator(d_x(hr), d_x(sr.detach()))
        yield Phase((o.hr_discriminator,), d_x_loss, {"d_x": d_x_loss.detach()})

        if back is not None:
            d_y_loss = self.bce.discriminator(d_y(lr), d_y(back.detach()))
            yield Phase((o.lr_discriminator,), d_y_loss, {"d_y": d_y_loss.detach()})


RECIPE = RecipeKind(CycleRecipe, CycleConfig)
