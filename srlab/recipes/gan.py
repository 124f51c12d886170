"""Adversarial training: the pixel/perceptual terms of the pixel recipe on every generator
output, plus a GAN term on the last output; then one discriminator step on detached outputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from srlab.losses import GANLoss
from srlab.recipes.base import Phase, TermSet, as_outputs, supervise_steps
from srlab.train.schema import RecipeConfig


class GANRecipe(nn.Module):
    def __init__(self, cfg: RecipeConfig) -> None:
        super().__init__()
        if cfg.gan is None:
            raise ValueError("recipe.gan is required for a gan recipe")
        self.generator = cfg.generator
        self.discriminator = cfg.gan.discriminator
        self.gan_weight = cfg.gan.weight
        self.terms = TermSet(cfg.losses)
        self.step_weights = cfg.step_weights
        ciplab = cfg.gan.kind == "hinge_ciplab"
        self.gan = GANLoss(
            "hinge" if ciplab else cfg.gan.kind, hinge_generator="ciplab" if ciplab else "standard"
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
