"""Parameter counts against published numbers (the papers, EDSR paper/BasicSR)."""

import pytest
import torch

from srlab.archs import ARCHITECTURES


def count(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@pytest.mark.parametrize(("scale", "expected"), [(2, 1_369_859), (3, 1_554_499), (4, 1_517_571)])
def test_edsr_baseline_trainable_parameters(scale, expected):
    net = ARCHITECTURES["edsr"].build(scale=scale)
    assert count(net, trainable_only=True) == expected
    assert count(net) == expected + 24  # the two frozen mean-shift layers


@pytest.mark.parametrize(("bias", "expected"), [(False, 14_499_401), (True, 14_502_281)])
def test_vgg_discriminator_parameters(bias, expected):
    assert count(ARCHITECTURES["vgg_discriminator"].build(conv_bias=bias)) == expected


def test_shapes():
    x = torch.rand(2, 3, 12, 10)
    assert ARCHITECTURES["edsr"].build(scale=3, blocks=2, features=8)(x).shape == (2, 3, 36, 30)
    d = ARCHITECTURES["vgg_discriminator"].build(input_size=64, features=16)
    assert d(torch.rand(2, 3, 64, 64)).shape == (2, 1)
    with pytest.raises(ValueError):
        ARCHITECTURES["vgg_discriminator"].build(input_size=100)
