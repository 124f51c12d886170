"""Input conventions shared by all metrics, and the BT.601 luma."""

import numpy as np
import pytest
import torch

from srlab.metrics import psnr
from srlab.metrics.inputs import prepare_pair, shave, to_8bit_values
from srlab.ops import rgb_to_y
from srlab.ops.color import matlab_round


@pytest.fixture
def rgb8():
    return np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)


def test_uint8_is_used_as_is(rgb8):
    out = to_8bit_values(rgb8)
    assert out.dtype == np.float64 and np.array_equal(out, rgb8)


def test_uint16_is_divided_by_257_and_rounded(rgb8):
    assert np.array_equal(to_8bit_values(rgb8.astype(np.uint16) * 257), rgb8)
    values = np.array([[0, 128, 129, 385, 386, 65535]], dtype=np.uint16)
    assert to_8bit_values(values)[..., 0].tolist() == [[0, 0, 1, 1, 2, 255]]


def test_float_is_rounded_half_away_from_zero_and_clipped():
    x = np.array([[0.0, 0.5 / 255, 1.49 / 255, 2.5 / 255, 1.0, 1.3, -0.2]])
    assert to_8bit_values(x)[..., 0].tolist() == [[0, 1, 1, 3, 255, 255, 0]]


def test_float_input_equals_its_8bit_rounding(rgb8):
    noisy = rgb8 / 255 + np.random.default_rng(1).uniform(-0.49, 0.49, rgb8.shape) / 255
    assert np.array_equal(to_8bit_values(noisy.astype(np.float32)), rgb8)


def test_floats_on_the_0_255_scale_and_non_finite_values_are_refused():
    with pytest.raises(ValueError, match=r"0\.\.1"):
        to_8bit_values(np.full((4, 4), 200.0))
    with pytest.raises(ValueError, match="NaN"):
        to_8bit_values(np.array([[0.5, np.nan]]))


def test_tensors_chw_and_1chw_match_numpy(rgb8):
    t = torch.from_numpy(rgb8).permute(2, 0, 1).float() / 255
    assert np.array_equal(to_8bit_values(t), rgb8)
    assert np.array_equal(to_8bit_values(t[None]), rgb8)
    assert np.array_equal(to_8bit_values(t[:1]), rgb8[..., :1])
    with pytest.raises(ValueError, match="one image"):
        to_8bit_values(torch.stack([t, t]))


def test_layouts_and_dtypes(rgb8):
    assert to_8bit_values(rgb8[..., 0]).shape == (20, 24, 1)
    assert to_8bit_values(rgb8[..., :1]).shape == (20, 24, 1)
    with pytest.raises(ValueError, match="H x W x 3"):
        to_8bit_values(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="int32"):
        to_8bit_values(np.zeros((4, 4), np.int32))
    with pytest.raises(TypeError, match="list"):
        to_8bit_values([[1, 2]])


def test_shape_mismatch_is_a_clear_error(rgb8):
    with pytest.raises(ValueError, match="same shape"):
        psnr(rgb8, rgb8[:-1])
    with pytest.raises(ValueError, match="same shape"):
        psnr(rgb8, rgb8[..., 0])


def test_shave_validates_the_border(rgb8):
    assert shave(rgb8, 3).shape == (14, 18, 3)
    assert shave(rgb8, 0) is rgb8
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError, match="non-negative integer"):
            shave(rgb8, bad)
    with pytest.raises(ValueError, match="leaves nothing"):
        shave(rgb8, 10)


def test_rgb_to_y_is_bt601_on_0_1_inputs(rgb8):
    rgb = rgb8.astype(np.float64)
    expected = 16 + 65.481 * rgb[..., 0] / 255 + 128.553 * rgb[..., 1] / 255
    expected += 24.966 * rgb[..., 2] / 255
    np.testing.assert_allclose(rgb_to_y(rgb), expected, rtol=0, atol=1e-12)
    corners = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], dtype=np.float64)
    np.testing.assert_allclose(rgb_to_y(corners)[0], [16, 235, 16 + 65.481], atol=1e-12)
    rounded = rgb_to_y(rgb, round_y=True)
    assert np.array_equal(rounded, np.floor(rgb_to_y(rgb) + 0.5))
    with pytest.raises(ValueError, match="H x W x 3"):
        rgb_to_y(rgb[..., :2])


def test_matlab_round_goes_half_away_from_zero():
    assert matlab_round(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.4999])).tolist() == [
        1,
        2,
        3,
        -1,
        -3,
        2,
    ]


def test_gray_images_are_scored_as_they_are(rgb8):
    gray = rgb8[..., 0]
    x, _ = prepare_pair(gray, gray, crop=0, y_channel=True)
    assert np.array_equal(x[..., 0], gray)
    y, _ = prepare_pair(rgb8, rgb8, crop=2, y_channel=True, round_y=True)
    assert np.array_equal(y[..., 0], rgb_to_y(rgb8.astype(float), round_y=True)[2:-2, 2:-2])
