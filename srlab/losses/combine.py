"""Weighted sums of named loss terms, with detached per-term values for logging."""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["WeightedSum"]


class WeightedSum:
    """total = sum over named terms k of w_k * L_k.

    ``weights`` maps term names to weights (e.g. ``{"l1": 0.01, "perceptual": 0.01,
    "gan": 5e-3}``). Calling it with the computed term values returns the total (differentiable)
    and ``{name: L_k detached}`` — the unweighted values, comparable across weight settings. Terms
    of weight 0 may be left out of the values (so a recipe can skip computing them); any other
    missing or unknown name is an error, which catches typos in configs.
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        if not weights:
            raise ValueError("a weighted sum needs at least one term")
        self.weights = dict(weights)

    def __call__(
        self, values: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        unknown = sorted(set(values) - set(self.weights))
        missing = sorted(k for k, w in self.weights.items() if w != 0 and k not in values)
        if unknown or missing:
            raise KeyError(
                f"loss terms do not match the weights: unknown {unknown}, missing {missing} "
                f"(weighted terms: {sorted(self.weights)})"
            )
        if not values:
            raise ValueError("no loss term values given (all weights are 0)")
        if any(value.ndim for value in values.values()):
            raise ValueError("loss term values must be scalars (reduce them first)")
        total = torch.stack([self.weights[name] * value for name, value in values.items()]).sum()
        return total, {name: value.detach() for name, value in values.items()}
