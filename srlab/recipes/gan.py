"""Adversarial training: the pixel/perceptual terms of the pixel recipe on every generator
output, plus a GAN term on the last output; then one discriminator step on detached outputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from srlab.losses import GANLoss
from srlab.recipes.base import Phase, Recipe, RecipeKind, TermSet, as_outputs, supervise_steps
from srlab.recipes.pixel import PixelConfig


@dataclass
class GANConfig(PixelConfig):
    """The pixel recipe's settings plus the adversarial game: `gan_loss` (hinge_ciplab: hinge
    discriminator, generator mean relu(1 − C(fake)) as CIPLAB's code) weighted by `gan_weight`,
    against the network `discriminator`."""

    kind: Literal["gan"] = "gan"
    discriminator: str = "d"
    gan_loss: Literal["vanilla", "lsgan", "hinge", "hinge_ciplab", "ragan"] = "ragan"
    gan_weight: float = 5e-3

    def roles(self) -> dict[str, str]:
        return {**super().roles(), "discriminator": self.discriminator}


class GANRecipe(Recipe):
    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.generator = cfg.generator
        self.discriminator = cfg.discriminator
        self.gan_weight = cfg.gan_weight
        self.terms = TermSet(cfg.losses)
        self.step_weights = cfg.step_weights
        ciplab = cfg.gan_loss == "hinge_ciplab"
        self.gan = GANLoss(
            "hinge" if ciplab else cfg.gan_loss, hinge_generator="ciplab" if ciplab else "standard"
        )

    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        g, d = nets[self.generator], nets[self.discriminator]
        hr = batch["hr"]
        outputs = as_outputs(g(batch["lr"]))
        loss, logs = supervise_steps(outputs, hr, self.terms, self.step_weights)
        fake = outputs[-1]
        real_logits = d(hr).detach()
        adv = self.gan.generator(d(fake), real_logits)
        logs["g_gan"] = adv.detach()
        yield Phase((self.generator,), loss + self.gan_weight * adv, logs)

        d_loss = self.gan.discriminator(d(hr), d(fake.detach()))
        yield Phase((self.discriminator,), d_loss, {"d_gan": d_loss.detach()})


RECIPE = RecipeKind(GANRecipe, GANConfig)
