"""Any output size: float scales and target widths/heights, exact to the pixel on odd sizes."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from srlab.archs import ModelSpec
from srlab.infer.sizing import OutputSize, SizedUpscaler, needed_factor
from srlab.infer.upscaler import Upscaler
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel, ModelLoadError, load_model


def photo(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c)).astype(np.float32)


def half_up(side: int, factor: Fraction) -> int:
    """side × factor rounded half up, written independently of srlab's helper."""
    numerator, denominator = (side * factor).as_integer_ratio()
    return (2 * numerator + denominator) // (2 * denominator)


@pytest.mark.parametrize("scale", [2.5, 1.5, 3.3, 0.5, 2.0, 7.25])
@pytest.mark.parametrize(("width", "height"), [(101, 37), (21, 17), (1, 3)])
def test_float_scales_round_half_up(scale, width, height):
    expected = (half_up(width, Fraction(str(scale))), half_up(height, Fraction(str(scale))))
    assert OutputSize(scale=scale).target(width, height, default_scale=4) == (
        max(1, expected[0]), max(1, expected[1])
    )


def test_worked_examples_of_the_rounding_rule():
    assert OutputSize(scale=2.5).target(101, 37, 4) == (253, 93)  # 252.5 -> 253, 92.5 -> 93
    assert OutputSize(scale=1.1).target(5, 15, 4) == (6, 17)  # 5.5 -> 6 (not binary 5.4999)
    assert OutputSize(width=250).target(101, 37, 4) == (250, 92)  # 91.58 -> 92
    assert OutputSize(height=50).target(21, 17, 4) == (62, 50)  # 61.76 -> 62
    assert OutputSize(width=40, height=30).target(21, 17, 4) == (40, 30)  # exact, any aspect
    assert OutputSize().target(21, 17, 4) == (84, 68)  # the model's own scale


@pytest.mark.parametrize(
    "fields",
    [{"scale": 0}, {"scale": -2}, {"scale": float("nan")}, {"scale": float("inf")},
     {"scale": True}, {"width": 0}, {"height": 2.5}, {"scale": 2, "width": 10}],
)
def test_bad_sizes_are_refused(fields):
    with pytest.raises(ValueError):
        OutputSize(**fields)


@pytest.mark.parametrize(
    ("size", "in_hw", "out_hw", "native"),
    [
        (OutputSize(scale=2.5), (17, 21), (43, 53), 3),
        (OutputSize(scale=1.5), (9, 11), (14, 17), 2),
        (OutputSize(width=100), (17, 21), (81, 100), 5),
        (OutputSize(height=50), (17, 21), (50, 62), 3),
        (OutputSize(width=40, height=30), (17, 21), (30, 40), 2),
    ],
)
def test_bicubic_model_reaches_exact_sizes(size, in_hw, out_hw, native):
    """Scale-free bicubic runs at the whole factor above, then shrinks to the exact size."""
    rgb = photo(*in_hw)
    upscaler = SizedUpscaler("bicubic", size=size)
    out = upscaler.upscale(DecodedImage(rgb, alpha=np.ones(in_hw, np.float32)))
    assert out.rgb.shape == (*out_hw, 3) and out.alpha.shape == out_hw
    chosen, width, height = upscaler.plan(in_hw[1], in_hw[0])
    assert (chosen.scale, height, width) == (native, *out_hw)
    expected = np.clip(imresize(np.clip(imresize(rgb, native), 0, 1), size=out_hw), 0, 1)
    np.testing.assert_allclose(out.rgb, expected, atol=1e-5)
    assert out.rgb.min() >= 0 and out.rgb.max() <= 1


def test_native_scales_run_exactly_as_the_upscaler():
    """A size the model makes natively is no resize at all: the same pixels, bit for bit."""
    rgb = photo(19, 23)
    plain = Upscaler(load_model("bicubic", scale=3), tile=0).upscale_array(rgb)
    sized = SizedUpscaler("bicubic", size=OutputSize(scale=3), options=None)
    image = sized.upscale(DecodedImage(rgb))
    assert np.array_equal(image.rgb, plain)
    assert SizedUpscaler("bicubic").scale == 4  # no size: the model's own scale


class Doubler(nn.Module):
    """A ×2 network: nearest-neighbour doubling."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def doubler() -> LoadedModel:
    return LoadedModel("doubler", "doubler", 2, Doubler(), ModelSpec(scales=(2,)))


def test_a_loaded_model_runs_at_its_own_scale_and_says_what_it_cannot_reach():
    upscaler = SizedUpscaler(doubler(), size=OutputSize(scale=1.5))
    out = upscaler.upscale(DecodedImage(photo(10, 13)))
    assert out.rgb.shape == (15, 20, 3)  # 19.5 -> 20
    with pytest.raises(ValueError, match=r"no scale that reaches x3 \(it runs at x2\)"):
        SizedUpscaler(doubler(), size=OutputSize(scale=3))
    wide = SizedUpscaler(doubler(), size=OutputSize(width=100))
    with pytest.raises(ValueError, match="no scale that reaches x10"):
        wide.upscale(DecodedImage(photo(10, 10)))


def test_scales_whose_weights_do_not_load_are_passed_over():
    """A file trained at one of its architecture's scales: the next larger scale that loads."""
    tried = []

    def loader(name, scale=None):
        tried.append(scale)
        if scale not in (None, 4):
            raise ModelLoadError(f"{name}: weights do not fit the architecture at x{scale}")
        spec = ModelSpec(scales=(2, 3, 4))
        return LoadedModel(name, "fake", 4, load_model("bicubic", scale=4).module, spec)

    upscaler = SizedUpscaler("file", size=OutputSize(scale=2), loader=loader)
    assert upscaler.scale == 4 and tried == [None, 2, 3]
    assert upscaler.upscale(DecodedImage(photo(8, 9))).rgb.shape == (16, 18, 3)


def test_the_least_factor_covers_both_axes():
    assert needed_factor(10, 20, (25, 41)) == Fraction(5, 2)  # 25/10 > 41/20
    assert needed_factor(10, 20, (21, 51)) == Fraction(51, 20)
    assert math.ceil(needed_factor(3, 3, (8, 8))) == 3

