"""Seeded stand-ins for pretrained VGG19 weights (the real ones cannot be downloaded here)."""

from collections.abc import Callable

import pytest
import torch
from torch import nn

from srlab.archs.vgg import vgg19_layers


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
