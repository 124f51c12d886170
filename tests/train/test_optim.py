"""Learning-rate schedules follow their formulas; EMA follows its recurrence."""

import math

import pytest
import torch
from torch import nn

from srlab.train.ema import EMA
from srlab.train.optim import build_optimizer, build_scheduler, lr_factor
from srlab.train.schema import OptimizerConfig, SchedulerConfig


def test_multistep_halves_at_each_milestone():
    f = lr_factor(SchedulerConfig(kind="multistep", milestones=[10, 20], gamma=0.5), 100)
    assert [f(t) for t in (0, 9, 10, 19, 20, 99)] == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_cosine_runs_from_one_to_min_ratio():
    f = lr_factor(SchedulerConfig(kind="cosine", min_ratio=0.1), 100)
    assert f(0) == pytest.approx(1.0)
    assert f(50) == pytest.approx(0.55)
    assert f(100) == pytest.approx(0.1)


def test_inverse_sqrt_is_the_ntire_2018_decay():
    # lr0 / sqrt((t + tau) / tau), pnavarre/ntire's schedule for G-MGBP
    f = lr_factor(SchedulerConfig(kind="inverse_sqrt", t0=100), 10_000)
    assert f(0) == 1.0
    assert f(100) == pytest.approx(2**-0.5)
    assert f(300) == pytest.approx(0.5)
    assert f(9_900) == pytest.approx(0.1)


def test_linear_warmup_multiplies_the_schedule():
    f = lr_factor(SchedulerConfig(kind="multistep", milestones=[2], warmup_iters=4), 10)
    # warm-up (t+1)/4 times the multistep factor (0.5 from t = 2)
    assert [f(t) for t in range(5)] == pytest.approx([0.25, 0.5, 0.375, 0.5, 0.5])


def test_scheduler_drives_the_optimizer_learning_rate():
    net = nn.Linear(2, 1)
    opt = build_optimizer(net.parameters(), OptimizerConfig(kind="adam", lr=1.0))
    sched = build_scheduler(opt, SchedulerConfig(kind="multistep", milestones=[2]), 10)
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == [1.0, 1.0, 0.5, 0.5]


def test_frozen_parameters_are_not_optimised():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    net[0].requires_grad_(False)
    opt = build_optimizer(net.parameters(), OptimizerConfig(kind="sgd"))
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == 3


def test_ema_follows_its_recurrence_and_copies_integer_buffers():
    net = nn.BatchNorm1d(1)
    ema = EMA(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(2.0)
    net.num_batches_tracked.fill_(7)
    ema.update(net)
    assert ema.module.weight.item() == pytest.approx(0.9 * 1.0 + 0.1 * 2.0)
    assert ema.module.num_batches_tracked.item() == 7
    assert not any(p.requires_grad for p in ema.module.parameters())
    with pytest.raises(ValueError):
        EMA(net, decay=1.0)
    assert math.isclose(net.weight.item(), 2.0)
