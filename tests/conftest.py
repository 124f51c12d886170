"""Shared fixtures: the location of ../shared (read-only project data), and seeded stand-ins
for pretrained VGG19 weights (the real ones cannot be downloaded here)."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from srlab.losses.vgg import vgg19_layers

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder; its absence is an error, never a skip."""
    if not (SHARED / "data").is_dir():
        raise FileNotFoundError(f"expected the project's shared data at {SHARED}")
    return SHARED


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, share the cores between workers: torch's default of one thread per
    core in every worker oversubscribes the CPU, and OpenMP's spinning threads then slow
    convolution-heavy tests down tenfold."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _random_vgg_state(last_index: int = 36, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded He-scaled weights in torchvision's layout, plus classifier keys (to be ignored)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for index, layer in enumerate(vgg19_layers()[: last_index + 1]):
        if isinstance(layer, nn.Conv2d):
            std = (2.0 / (layer.in_channels * 9)) ** 0.5
            state[f"features.{index}.weight"] = torch.randn(layer.weight.shape, generator=g) * std
            state[f"features.{index}.bias"] = torch.randn(layer.out_channels, generator=g) * 0.1
    state["classifier.0.weight"] = torch.randn(8, 16, generator=g)
    return state


@pytest.fixture(scope="session")
def random_vgg_state() -> Callable[..., dict[str, torch.Tensor]]:
    return _random_vgg_state
