"""MATLAB-compatible imresize: against an independent loop reference, a PyPI port and properties."""

import math

import numpy as np
import pytest
import torch
from bicubic_pytorch import imresize as bicubic_pytorch_imresize

from srlab.ops import imresize, output_size

SCALES = [1 / 2, 1 / 3, 1 / 4, 1 / 16, 2, 4]


def _keys(t: float) -> float:
    """Keys cubic kernel, a = -0.5, written out as in MATLAB's imresize.m."""
    t = abs(t)
    if t <= 1:
        return 1.5 * t**3 - 2.5 * t**2 + 1
    if t <= 2:
        return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
    return 0.0


def _reference_axis0(a: np.ndarray, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    """Resize axis 0, one output sample at a time, following imresize.m's contributions().

    Positions are 1-based like MATLAB; out-of-range taps go through MATLAB's mirror table
    aux = [1:n, n:-1:1] indexed with mod(j - 1, 2n) + 1.
    """
    n = a.shape[0]
    shrink = scale < 1 and antialias
    width = 4 / scale if shrink else 4.0
    aux = list(range(1, n + 1)) + list(range(n, 0, -1))
    out = np.zeros((out_len, *a.shape[1:]))
    for i in range(1, out_len + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + p for p in range(math.ceil(width) + 2)]
        weights = [scale * _keys(scale * (u - j)) if shrink else _keys(u - j) for j in taps]
        total = sum(weights)
        for j, w in zip(taps, weights, strict=True):
            out[i - 1] += (w / total) * a[aux[(j - 1) % (2 * n)] - 1]
    return out


def _reference(img: np.ndarray, out_hw, scales, antialias: bool = True) -> np.ndarray:
    """Height pass then width pass of the loop reference, in float64."""
    rows = _reference_axis0(img.astype(np.float64), out_hw[0], scales[0], antialias)
    cols = _reference_axis0(rows.swapaxes(0, 1), out_hw[1], scales[1], antialias)
    return cols.swapaxes(0, 1)


def _image(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("channels", [None, 3])
def test_matches_loop_reference_numpy_and_torch(scale, channels):
    hw = (37, 29) if scale == 1 / 16 else (13, 11)
    img = _image(hw if channels is None else (*hw, channels), seed=int(1 / scale * 10))
    out_hw = (math.ceil(hw[0] * scale), math.ceil(hw[1] * scale))
    expected = _reference(img, out_hw, (scale, scale))

    got_np = imresize(img, scale)
    assert got_np.shape == expected.shape
    np.testing.assert_allclose(got_np, expected, atol=1e-5, rtol=0)

    planes = torch.from_numpy(np.atleast_3d(img).transpose(2, 0, 1).copy())
    got_t = imresize(planes.float(), scale)
    expected_planes = np.atleast_3d(expected).transpose(2, 0, 1)
    np.testing.assert_allclose(got_t.numpy(), expected_planes, atol=1e-5, rtol=0)


@pytest.mark.parametrize("size", [(7, 31), (30, 5)])
def test_non_square_size_matches_reference(size):
    img = _image((17, 12, 3), seed=3)
    scales = (size[0] / 17, size[1] / 12)
    expected = _reference(img, size, scales)
    np.testing.assert_allclose(imresize(img, size=size), expected, atol=1e-5, rtol=0)


def test_without_antialias_matches_reference():
    img = _image((21, 18), seed=4)
    expected = _reference(img, (6, 5), (1 / 4, 1 / 4), antialias=False)
    np.testing.assert_allclose(imresize(img, 1 / 4, antialias=False), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale", [*SCALES, 0.7])
def test_matches_bicubic_pytorch(scale):
    """bicubic-pytorch (PyPI) is an independent port that claims MATLAB parity."""
    x = torch.from_numpy(_image((2, 3, 37, 29), seed=5))
    expected = bicubic_pytorch_imresize(x, scale=scale)
    got = imresize(x, scale)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected.to(got.dtype), atol=1e-5, rtol=0)


def test_size_matches_bicubic_pytorch():
    x = torch.from_numpy(_image((1, 3, 23, 40), seed=6))
    expected = bicubic_pytorch_imresize(x, sizes=(50, 9))
    torch.testing.assert_close(imresize(x, size=(50, 9)), expected.double(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [None, 3])
def test_numpy_and_torch_paths_identical(dtype, channels):
    hw = (19, 26)
    img = _image(hw if channels is None else (*hw, channels), seed=7).astype(dtype)
    got_np = imresize(img, 1 / 3)
    planes = torch.from_numpy(np.atleast_3d(img).transpose(2, 0, 1).copy())
    got_t = imresize(planes[None], 1 / 3)[0].numpy()
    np.testing.assert_array_equal(np.atleast_3d(got_np).transpose(2, 0, 1), got_t)
    assert got_np.dtype == dtype


def test_sparse_and_dense_forms_agree():
    x = torch.from_numpy(_image((2, 17, 23), seed=8))
    for scale in (1 / 4, 3):
        dense = imresize(x, scale, sparse=False)
        torch.testing.assert_close(imresize(x, scale, sparse=True), dense, atol=1e-12, rtol=0)


def test_integer_input_returns_unrounded_float64():
    img = np.random.default_rng(9).integers(0, 256, (16, 12, 3), dtype=np.uint8)
    got = imresize(img, 1 / 4)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, imresize(img.astype(np.float64), 1 / 4))
    assert not np.array_equal(got, np.round(got))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_tensor_dtype_preserved(dtype):
    x = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(1)).to(dtype)
    assert imresize(x, 1 / 2).dtype == dtype


@pytest.mark.parametrize("scale", [*SCALES, 0.37])
def test_constant_image_stays_constant(scale):
    img = np.full((35, 22, 3), 0.62, dtype=np.float64)
    np.testing.assert_allclose(imresize(img, scale), 0.62, atol=1e-6, rtol=0)
    x = torch.full((1, 2, 35, 22), 0.62)
    torch.testing.assert_close(imresize(x, size=(9, 40)), torch.full((1, 2, 9, 40), 0.62))


def test_output_size_follows_matlab_ceil():
    assert output_size((7, 5), 1 / 2) == (4, 3)
    assert output_size((10, 11), 1 / 3) == (4, 4)
    assert output_size((1356, 2040), 1 / 4) == (339, 510)
    assert output_size((3, 5), 2.5) == (8, 13)
    assert imresize(np.zeros((7, 5)), 1 / 2).shape == (4, 3)
    assert imresize(torch.zeros(2, 7, 5), 2.5).shape == (2, 18, 13)


@pytest.mark.parametrize("scale", [2, 4, 3])
def test_ramp_stays_linear_when_upscaling(scale):
    h, w = 12, 15
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = 0.3 * rows - 0.2 * cols + 1.0
    out = imresize(ramp, scale)
    # Output sample i (1-based) sits at u = i/s + 0.5(1 - 1/s), i.e. at 0-based u - 1.
    pos_r = np.arange(1, out.shape[0] + 1) / scale + 0.5 * (1 - 1 / scale) - 1
    pos_c = np.arange(1, out.shape[1] + 1) / scale + 0.5 * (1 - 1 / scale) - 1
    expected = 0.3 * pos_r[:, None] - 0.2 * pos_c[None, :] + 1.0
    inner = (slice(3 * scale, -3 * scale),) * 2  # taps reach 2 input samples past u
    np.testing.assert_allclose(out[inner], expected[inner], atol=1e-12, rtol=0)
    assert np.abs(out - expected).max() > 1e-3  # the mirrored border does bend the ramp


def test_upscaling_two_samples_by_two_by_hand():
    """[a, b] -> 4 samples. u = 0.75, 1.25, 1.75, 2.25 (1-based), width 4, 6 taps.

    Keys weights: k(0.25) = 0.8671875, k(0.75) = 0.2265625, k(1.25) = -0.0703125,
    k(1.75) = -0.0234375 (they sum to 1). Mirror table for n = 2 is [1, 2, 2, 1], so tap -1 -> b,
    tap 0 -> a, tap 3 -> b.
    u = 0.75: taps -1, 0, 1, 2 at distances 1.75, 0.75, 0.25, 1.25
              -> a (0.2265625 + 0.8671875) + b (-0.0234375 - 0.0703125) = 1.09375 a - 0.09375 b
    u = 1.25: taps 0, 1, 2, 3 at distances 1.25, 0.25, 0.75, 1.75
              -> a (-0.0703125 + 0.8671875) + b (0.2265625 - 0.0234375) = 0.796875 a + 0.203125 b
    and the last two mirror these.
    """
    a, b = 0.0, 1.0
    expected_row = [-0.09375, 0.203125, 0.796875, 1.09375]
    img = np.array([[a, b], [a, b]])
    np.testing.assert_allclose(imresize(img, 2), np.tile(expected_row, (4, 1)), atol=1e-12)
    column = imresize(torch.tensor([[[a], [b]]], dtype=torch.float64), size=(4, 1))
    np.testing.assert_allclose(column[0, :, 0].numpy(), expected_row, atol=1e-12)


def test_batched_equals_per_image():
    x = torch.rand(4, 3, 20, 18, generator=torch.Generator().manual_seed(0))
    batched = imresize(x, 1 / 3)
    single = torch.stack([imresize(img, 1 / 3) for img in x])
    torch.testing.assert_close(batched, single, atol=1e-6, rtol=0)
    assert batched.shape == (4, 3, 7, 6)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("scale", [1 / 2, 2])
def test_gradient_flows(sparse, scale):
    x = torch.rand(1, 2, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, scale, sparse=sparse), (x,))


def test_bad_arguments_raise():
    img = np.zeros((8, 8))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img, 0.5, size=(4, 4))
    with pytest.raises(ValueError, match="positive"):
        imresize(img, 0.0)
    with pytest.raises(ValueError, match="positive"):
        imresize(img, size=(0, 3))
    with pytest.raises(TypeError, match="floating-point"):
        imresize(torch.zeros(1, 8, 8, dtype=torch.uint8), 0.5)
    with pytest.raises(ValueError, match="H x W"):
        imresize(np.zeros(8), 0.5)
