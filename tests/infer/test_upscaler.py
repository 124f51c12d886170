"""Whole-image upscaling: tiled equals untiled, memory bounded by the tile, gray and alpha."""

import numpy as np
import pytest
import torch
from torch import nn

from srlab.archs import ARCHITECTURES, Architecture, ModelSpec
from srlab.infer.upscaler import Upscaler
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel, load_model


class LocalNet(nn.Module):
    """A random pure-convolution x2 network whose receptive radius is 3 LR pixels."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1),
        )
        self.tail = nn.Sequential(nn.PixelShuffle(2), nn.Conv2d(3, 3, 3, padding=1))
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape[-2:]))
        return torch.sigmoid(self.tail(self.body(x)))


def local_model() -> LoadedModel:
    return LoadedModel("local", "local", 2, LocalNet(), ModelSpec(scales=(2,), receptive_radius=3))


def photo(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.random((h // 4 + 2, w // 4 + 2, c))
    up = imresize(smooth, size=(h, w))
    return np.clip(up + 0.05 * rng.standard_normal((h, w, c)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("tile", "overlap"), [(16, 8), (24, 4), (40, 16)])
def test_bicubic_tiled_equals_untiled(scale, tile, overlap):
    lr = photo(45, 61)
    model = load_model("bicubic", scale=scale)
    whole = Upscaler(model, tile=0).upscale_array(lr)
    tiled = Upscaler(model, tile=tile, tile_overlap=overlap).upscale_array(lr)
    assert whole.shape == (45 * scale, 61 * scale, 3)
    assert np.abs(tiled - whole).max() < 1e-5  # far inside the 1/255 promise


def test_bicubic_model_matches_imresize():
    lr = photo(30, 20)
    out = Upscaler(load_model("bicubic", scale=4), tile=0).upscale_array(lr)
    ref = np.clip(imresize(lr, 4), 0, 1)
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_network_tiled_equals_untiled_and_calls_stay_tile_sized():
    lr = photo(50, 70)
    model = local_model()
    whole = Upscaler(model, tile=0).upscale_array(lr)
    model.module.calls.clear()
    tiled = Upscaler(model, tile=16, tile_overlap=8).upscale_array(lr)
    assert np.abs(tiled - whole).max() < 1e-5
    # Memory is bounded by the tile: no call sees more than tile + 2 * overlap pixels a side.
    assert model.module.calls and max(max(c) for c in model.module.calls) <= 16 + 2 * 8


def test_self_ensemble_of_bicubic_is_bicubic():
    """MATLAB bicubic is symmetric under flips and transposition, so its ensemble is itself."""
    lr = photo(21, 34)
    model = load_model("bicubic", scale=2)
    plain = Upscaler(model, tile=0).upscale_array(lr)
    ensembled = Upscaler(model, tile=16, tile_overlap=6, ensemble=True).upscale_array(lr)
    assert np.abs(plain - ensembled).max() < 1e-5


def test_self_ensemble_changes_an_asymmetric_network():
    lr = photo(20, 24)
    model = local_model()
    plain = Upscaler(model, tile=0).upscale_array(lr)
    ensembled = Upscaler(model, tile=0, ensemble=True).upscale_array(lr)
    assert np.abs(plain - ensembled).max() > 1e-3


def test_gray_stays_gray_and_alpha_is_upscaled_separately():
    rgb = photo(24, 18, c=1)
    alpha = np.linspace(0, 1, 24 * 18, dtype=np.float32).reshape(24, 18)
    image = DecodedImage(rgb=rgb, alpha=alpha, bit_depth=16, format="PNG", path=None)
    out = Upscaler(local_model(), tile=0).upscale(image)
    assert out.rgb.shape == (48, 36, 1)
    assert out.bit_depth == 16 and out.alpha is not None
    np.testing.assert_allclose(out.alpha, np.clip(imresize(alpha, 2), 0, 1), atol=1e-6)


def test_bf16_half_precision_runs_close_to_float32():
    lr = photo(32, 32)
    model = local_model()
    full = Upscaler(model, tile=0).upscale_array(lr)
    half = Upscaler(local_model(), tile=0, half=True)
    assert half.dtype == torch.bfloat16  # our CPUs have native bf16
    assert np.abs(half.upscale_array(lr) - full).max() < 0.05


def test_noise_is_refused_for_models_without_a_noise_input():
    with pytest.raises(ValueError, match="no noise input"):
        Upscaler(load_model("bicubic"), noise=0.5)


def test_registry_is_read_only_and_custom_registries_are_passed_explicitly():
    with pytest.raises(TypeError):
        ARCHITECTURES["x"] = Architecture("x", LocalNet, ModelSpec(), "")  # type: ignore[index]
