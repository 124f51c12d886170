"""Translate state dicts written by other code (authors' releases) into our parameter names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn


class ForeignWeightsError(ValueError):
    """A foreign state dict that does not fit the architecture; the message names the keys."""


@dataclass(frozen=True)
class KeyMap:
    """A one-to-one map from our parameter names to a foreign layout's, with our shapes.

    Mismatches are reported in the foreign names, the ones the user can see in their file.
    """

    source: str
    ours_to_theirs: Mapping[str, str]
    shapes: Mapping[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        if len(set(self.ours_to_theirs.values())) != len(self.ours_to_theirs):
            raise ValueError(f"key map for {self.source} is not one-to-one")

    @classmethod
    def from_module(cls, source: str, module: nn.Module, rename: Callable[[str], str]) -> KeyMap:
        """The map of `module`'s state dict, each key renamed to the foreign layout by `rename`."""
        state = module.state_dict()
        return cls(
            source=source,
            ours_to_theirs={k: rename(k) for k in state},
            shapes={k: tuple(v.shape) for k, v in state.items()},
        )

    @property
    def theirs_to_ours(self) -> dict[str, str]:
        return {theirs: ours for ours, theirs in self.ours_to_theirs.items()}

    def recognises(self, state: Mapping[str, torch.Tensor]) -> bool:
        """Whether most of `state`'s keys are this layout's (so a mismatch is worth naming)."""
        theirs = self.theirs_to_ours
        return bool(state) and sum(k in theirs for k in state) * 2 >= len(state)

    def import_state(self, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`state` renamed to our keys; every missing, unexpected or mis-shaped key is named."""
        theirs = self.theirs_to_ours
        problems = mismatches({k: self.shapes[ours] for k, ours in theirs.items()}, state)
        if problems:
            raise ForeignWeightsError(f"not a state dict of {self.source}: {problems}")
        return {theirs[k]: v for k, v in state.items()}


def mismatches(
    expected: Mapping[str, tuple[int, ...]], given: Mapping[str, torch.Tensor]
) -> str | None:
    """One line naming the missing, unexpected and mis-shaped keys (the first `SHOWN` of each
    kind, then how many more); None when all fit."""
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    shapes = sorted(
        f"{k} {tuple(v.shape)} != {tuple(expected[k])}"
        for k, v in given.items()
        if k in expected and tuple(v.shape) != tuple(expected[k])
    )
    problems = [
        f"{label}: {_first(items)}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
        if items
    ]
    return "; ".join(problems) or None


SHOWN = 8  # keys named per kind of mismatch: a whole network's keys would fill a screen


def _first(items: list[str]) -> str:
    """The first SHOWN items, then "and N more" when there are more."""
    shown = ", ".join(items[:SHOWN])
    return shown if len(items) <= SHOWN else f"{shown} and {len(items) - SHOWN} more"
