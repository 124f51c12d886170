"""What a recipe is: the per-iteration logic of one training procedure, and its config.

A recipe turns a batch into a sequence of phases. Each phase names the networks it updates and
the loss to minimise; the trainer owns everything else (zeroing, backward, AMP scaling,
clipping, optimiser and EMA steps, logging). Phases are produced by a generator, so a later
phase sees the outputs of an earlier one after that phase's optimiser step (the usual
G-then-D order of GAN training).

Each recipe file holds its recipe (a :class:`Recipe`) and its config (a :class:`RecipeConfig`
that checks its own values and names the networks it uses), and ends with
``RECIPE = RecipeKind(TheRecipe, TheConfig)``; ``srlab.recipes.RECIPES`` maps ``recipe.kind`` to
those entries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from srlab.config import ConfigError
from srlab.losses import LOSSES, WeightedSum


@dataclass
class Phase:
    networks: tuple[str, ...]
    loss: torch.Tensor
    logs: dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


@dataclass
class RecipeConfig:
    """What every recipe's config holds: its ``kind`` (the key of ``srlab.recipes.RECIPES``) and
    the network it trains and ships (``generator``). Subclasses add their own settings, check
    them in ``__post_init__`` (raising ConfigError naming the key) and list the networks they
    use in :meth:`roles`."""

    kind: str
    generator: str = "g"

    def roles(self) -> dict[str, str]:
        """The networks this recipe uses, by the config key that names each."""
        return {"generator": self.generator}

    def check(self, networks: Collection[str]) -> None:
        """Raise ConfigError naming the key of any network this recipe uses that is not one of
        ``networks`` (the run's)."""
        for key, name in self.roles().items():
            if name not in networks:
                known = ", ".join(networks) or "none"
                raise ConfigError(f"{key}: {name!r} is not one of the networks ({known})")


class Recipe(nn.Module, ABC):
    """A training procedure, built from its config. An nn.Module so that loss networks (VGG,
    LPIPS...) move to the training device with it."""

    @abstractmethod
    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        """This batch's phases, in order; ``nets`` maps network names to what to call."""


class RecipeKind(NamedTuple):
    """A registry entry: a recipe and the config class its ``recipe:`` section is read as."""

    recipe: type[Recipe]
    config: type[RecipeConfig]

    @property
    def kind(self) -> str:
        """The ``recipe.kind`` that selects it: its config's default ``kind``."""
        return self.config.__dataclass_fields__["kind"].default


@dataclass
class LossTerm:
    """A weighted loss from `srlab.losses.LOSSES`, built with `options`. `input_scale`
    multiplies prediction and target first (255 = the authors' 0–255 scale, so their weights
    apply as published)."""

    kind: str
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)
    input_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in LOSSES:
            raise ConfigError(f"kind: unknown loss {self.kind!r} (known: {', '.join(LOSSES)})")


class TermSet(nn.Module):
    """The configured weighted loss terms, applied to (prediction, target)."""

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        self.names = [t.kind for t in terms]
        self.scales = [t.input_scale for t in terms]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"each loss kind may appear once per recipe, got {self.names}")
        self.weighted = WeightedSum({t.kind: t.weight for t in terms})
        self.terms = nn.ModuleList(_build_term(i, t) for i, t in enumerate(terms))

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, prefix: str = ""
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        values = {
            name: term(pred * scale, target * scale) if scale != 1 else term(pred, target)
            for name, term, scale in zip(self.names, self.terms, self.scales, strict=True)
        }
        total, logs = self.weighted(values)
        return total, {f"{prefix}{k}": v for k, v in logs.items()}


def _build_term(index: int, term: LossTerm) -> nn.Module:
    """The loss module of ``term``; bad options (or an unreadable weights file they name) are
    a ConfigError naming ``losses[index].options``."""
    try:
        return LOSSES[term.kind](**term.options)
    except (TypeError, ValueError, OSError) as exc:
        raise ConfigError(f"losses[{index}].options: cannot build {term.kind!r}: {exc}") from exc


def as_outputs(result: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """A generator's outputs as a list (single-output networks give one)."""
    return [result] if isinstance(result, torch.Tensor) else list(result)


def supervise_steps(
    outputs: Sequence[torch.Tensor],
    hr: torch.Tensor,
    terms: TermSet,
    step_weights: Sequence[float] | None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of the loss terms over every output (Fast-SRFBN supervises each step)."""
    weights = list(step_weights) if step_weights is not None else [1.0] * len(outputs)
    if len(weights) != len(outputs):
        raise ValueError(f"{len(outputs)} generator outputs but {len(weights)} step_weights")
    total = hr.new_zeros(())
    logs: dict[str, torch.Tensor] = {}
    for k, (out, w) in enumerate(zip(outputs, weights, strict=True)):
        prefix = f"step{k}_" if len(outputs) > 1 else ""
        loss, step_logs = terms(out, hr, prefix)
        total = total + w * loss
        logs.update(step_logs)
    return total, logs
