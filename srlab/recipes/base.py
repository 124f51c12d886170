"""What a recipe is: the per-iteration logic of one training procedure.

A recipe turns a batch into a sequence of phases. Each phase names the networks it updates and
the loss to minimise; the trainer owns everything else (zeroing, backward, AMP scaling,
clipping, optimiser and EMA steps, logging). Phases are produced by a generator, so a later
phase sees the outputs of an earlier one after that phase's optimiser step (the usual
G-then-D order of GAN training).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from srlab.losses import LOSSES, WeightedSum
from srlab.train.schema import LossTerm


@dataclass
class Phase:
    networks: tuple[str, ...]
    loss: torch.Tensor
    logs: dict[str, torch.Tensor] = field(default_factory=dict)  # detached, for logging


class Recipe(Protocol):
    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]: ...


class TermSet(nn.Module):
    """The configured weighted loss terms, applied to (prediction, target)."""

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        unknown = [t.kind for t in terms if t.kind not in LOSSES]
        if unknown:
            raise ValueError(f"unknown loss kind(s) {unknown}; known: {', '.join(LOSSES)}")
        self.names = [t.kind for t in terms]
        self.scales = [t.input_scale for t in terms]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"each loss kind may appear once per recipe, got {self.names}")
        self.weighted = WeightedSum({t.kind: t.weight for t in terms})
        self.terms = nn.ModuleList(LOSSES[t.kind](**t.options) for t in terms)

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, prefix: str = ""
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        values = {
            name: term(pred * scale, target * scale) if scale != 1 else term(pred, target)
            for name, term, scale in zip(self.names, self.terms, self.scales, strict=True)
        }
        total, logs = self.weighted(values)
        return total, {f"{prefix}{k}": v for k, v in logs.items()}


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
