"""Supervised (pixel / perceptual) training of one generator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from srlab.config import ConfigError
from srlab.recipes.base import (
    LossTerm,
    Phase,
    Recipe,
    RecipeConfig,
    RecipeKind,
    TermSet,
    as_outputs,
    supervise_steps,
)


@dataclass
class PixelConfig(RecipeConfig):
    """The weighted `losses` on every output of the generator (output k of a multi-output
    generator weighted by `step_weights[k]`, default 1)."""

    kind: Literal["pixel"] = "pixel"
    losses: list[LossTerm] = field(default_factory=lambda: [LossTerm("l1")])
    step_weights: list[float] | None = None

    def __post_init__(self) -> None:
        kinds = [term.kind for term in self.losses]
        if not kinds:
            raise ConfigError("losses: needs at least one loss term")
        if len(set(kinds)) != len(kinds):
            raise ConfigError(f"losses: each loss kind may appear once, got {kinds}")


class PixelRecipe(Recipe):
    """Minimise the configured terms on every generator output."""

    def __init__(self, cfg: PixelConfig) -> None:
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


RECIPE = RecipeKind(PixelRecipe, PixelConfig)
