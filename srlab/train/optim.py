"""Optimisers and per-iteration learning-rate schedules built from the config."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from srlab.train.schema import OptimizerConfig, SchedulerConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.kind == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.kind == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    return torch.optim.SGD(
        params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


def lr_factor(cfg: SchedulerConfig, run_length: int) -> Callable[[int], float]:
    """Multiplier of the base learning rate at iteration t (0-based), warm-up included."""
    total = cfg.total or run_length

    def decay(t: int) -> float:
        if cfg.kind == "multistep":
            return cfg.gamma ** sum(t >= m for m in cfg.milestones)
        if cfg.kind == "cosine":
            progress = min(1.0, t / max(1, total))
            return cfg.min_ratio + (1 - cfg.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if cfg.kind == "inverse_sqrt":
            return math.sqrt(cfg.t0 / (t + cfg.t0))
        return 1.0

    def factor(t: int) -> float:
        warm = min(1.0, (t + 1) / cfg.warmup_iters) if cfg.warmup_iters else 1.0
        return warm * decay(t)

    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: SchedulerConfig, run_length: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, run_length))
