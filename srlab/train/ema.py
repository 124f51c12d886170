"""Exponential moving average of a network's weights (evaluated and shipped instead of the raw
weights when configured, as ESRGAN-style training does)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """ema ← decay·ema + (1 − decay)·weights after each step; buffers are copied as they are."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        current = module.state_dict()
        for name, value in self.module.state_dict().items():
            if value.is_floating_point():
                value.lerp_(current[name], 1.0 - self.decay)
            else:
                value.copy_(current[name])
