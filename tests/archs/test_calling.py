"""The calling convention: one function reads a ModelSpec and returns the network's final image."""

import pytest
import torch
from torch import nn

from srlab.archs import ModelSpec
from srlab.archs.calling import crop_noise, draw_noise, final_output, image_statistics
from srlab.archs.fast_srfbn import SPEC as FAST_SRFBN
from srlab.archs.fast_srfbn import FastSRFBN
from srlab.archs.gmgbp import GMGBP as GMGBPNet
from srlab.archs.gmgbp import SPEC as GMGBP
from srlab.archs.srrescgan import SPEC as SRRESCGAN
from srlab.archs.srrescgan import SRResCGANGenerator


class Recorder(nn.Module):
    """A ×2 nearest-neighbour 'network' that records the shape and keywords of each call."""

    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.outputs = outputs
        self.calls: list[tuple[tuple[int, ...], dict]] = []

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor | list[torch.Tensor]:
        self.calls.append((tuple(x.shape), kwargs))
        y = x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
        return [y * (k + 1) / self.outputs for k in range(self.outputs)] if self.outputs > 1 else y

    def image_statistics(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"level": x.mean().reshape(1)}


def test_inputs_are_padded_to_the_size_multiple_and_cropped_back():
    net = Recorder()
    x = torch.rand(1, 3, 13, 10)
    y = final_output(net, ModelSpec(size_multiple=8), x)
    assert net.calls[0][0] == (1, 3, 16, 16) and net.calls[0][1] == {}
    torch.testing.assert_close(y, x.repeat_interleave(2, -2).repeat_interleave(2, -1))


def test_multi_output_networks_compute_and_return_only_the_last_image():
    net = Recorder(outputs=3)
    x = torch.rand(2, 3, 5, 6)
    y = final_output(net, ModelSpec(multi_output=True), x)
    assert net.calls[0][1] == {"last_only": True}
    assert isinstance(y, torch.Tensor) and y.shape == (2, 3, 10, 12)
    real = FastSRFBN(scale=2, features=16, steps=2, blocks=1)
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(final_output(real, FAST_SRFBN, x), real(x)[-1])


def test_a_list_from_a_network_that_declares_one_output_is_an_error():
    with pytest.raises(TypeError, match="declares multi_output"):
        final_output(Recorder(outputs=2), ModelSpec(), torch.rand(1, 3, 4, 4))


def test_whole_image_statistics_are_computed_unless_given():
    net = Recorder()
    spec = ModelSpec(global_stats=True)
    x = torch.rand(1, 3, 4, 4)
    final_output(net, spec, x)
    assert torch.equal(net.calls[0][1]["level"], x.mean().reshape(1))
    shared = {"level": torch.tensor([0.25])}
    final_output(net, spec, x[..., :2], stats=shared)
    assert net.calls[1][1] == shared
    assert image_statistics(net, ModelSpec(), x) == {}
    generator = SRResCGANGenerator(features=8, blocks=1)
    with torch.no_grad():
        torch.testing.assert_close(final_output(generator, SRRESCGAN, x), generator(x))


def test_noise_reaches_networks_with_a_noise_input_and_is_refused_by_others():
    net = GMGBPNet(scale=2, features=8, growth=4)
    x = torch.rand(1, 3, 10, 12)
    maps = draw_noise(net, GMGBP, 10, 12, torch.Generator().manual_seed(1))
    assert draw_noise(Recorder(), ModelSpec(), 10, 12, torch.Generator()) is None
    with torch.no_grad():
        whole = final_output(net, GMGBP, x, noise=0.5, noise_maps=maps)
        torch.testing.assert_close(whole, net(x, 0.5, noise_maps=maps))
        part = final_output(
            net, GMGBP, x[..., 2:8, 3:11], noise=0.5, noise_maps=crop_noise(net, maps, 2, 3, 6, 8)
        )
        torch.testing.assert_close(part, net(x[..., 2:8, 3:11], 0.5,
                                             noise_maps=crop_noise(net, maps, 2, 3, 6, 8)))
        assert not torch.equal(whole, final_output(net, GMGBP, x))
    with pytest.raises(ValueError, match="no noise input"):
        final_output(Recorder(), ModelSpec(), x, noise=0.5)
    with pytest.raises(ValueError, match="no noise input"):
        final_output(Recorder(), ModelSpec(), x, noise_maps=maps)
