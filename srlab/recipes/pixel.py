"""Supervised (pixel / perceptual) training of one generator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from srlab.recipes.base import Phase, TermSet, as_outputs, supervise_steps
from srlab.train.schema import RecipeConfig


class PixelRecipe(nn.Module):
    """Minimise the configured terms on every generator output (nn.Module so loss networks
    such as VGG move to the training device with it)."""

    def __init__(self, cfg: RecipeConfig) -> None:
        super().__init__()
        self.generator = cfg.generator
        self.terms = TermSet(cfg.losses)
        self.step_weights = cfg.step_weights

    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        outputs = as_outputs(nets[self.generator](batch["lr"]))
        loss, logs = supervise_steps(outputs, batch["hr"], self.terms, self.step_weights)
        yield Phase((self.generator,), loss, logs)
