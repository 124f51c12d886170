"""DecodedImage and its conversions: from_array, to_array, to_pil."""

from dataclasses import replace

import numpy as np
import pytest

from srlab.io import DecodedImage, from_array, to_array, to_pil

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("shape", "channels", "alpha"),
    [
        ((5, 4), 1, False),
        ((5, 4, 1), 1, False),
        ((5, 4, 2), 1, True),
        ((5, 4, 3), 3, False),
        ((5, 4, 4), 3, True),
    ],
)
@pytest.mark.parametrize(("dtype", "depth"), [(np.uint8, 8), (np.uint16, 16)])
def test_from_array_layout_and_exact_round_trip(
    shape: tuple[int, ...], channels: int, alpha: bool, dtype: type, depth: int
) -> None:
    arr = RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    img = from_array(arr)
    assert img.rgb.shape == (5, 4, channels)
    assert img.rgb.dtype == np.float32
    assert img.rgb.flags.c_contiguous
    assert img.has_alpha is alpha
    assert img.is_gray is (channels == 1)
    assert (img.height, img.width) == (5, 4)
    assert img.bit_depth == depth
    assert img.format is None and img.path is None
    assert img.rgb.min() >= 0.0 and img.rgb.max() <= 1.0
    expected = arr[:, :, 0] if shape[-1:] == (1,) else arr
    np.testing.assert_array_equal(to_array(img, dtype), expected)


def test_float_arrays_are_clipped_and_eight_bit() -> None:
    img = from_array(np.array([[-0.5, 0.25, 1.5]], dtype=np.float64))
    assert img.bit_depth == 8
    np.testing.assert_array_equal(img.rgb[:, :, 0], [[0.0, 0.25, 1.0]])


def test_integer_output_is_rounded_not_truncated_and_clipped() -> None:
    img = DecodedImage(np.array([[[0.6 / 255], [0.4 / 255], [1.7], [-0.2], [254.6 / 255]]]))
    np.testing.assert_array_equal(to_array(img, np.uint8), [[1, 0, 255, 0, 255]])
    img16 = DecodedImage(np.array([[[0.6 / 65535], [65534.6 / 65535]]]))
    np.testing.assert_array_equal(to_array(img16, np.uint16), [[1, 65535]])


def test_float_output_keeps_values() -> None:
    arr = RNG.random((3, 2, 4)).astype(np.float32)
    np.testing.assert_array_equal(to_array(from_array(arr), np.float64), arr)


@pytest.mark.parametrize(
    ("arr", "message"),
    [
        (np.zeros((4, 4, 5), np.uint8), "C in 1..4"),
        (np.zeros((2, 4, 4, 3), np.uint8), "C in 1..4"),
        (np.zeros(7, np.uint8), "C in 1..4"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4), np.int32), "dtype int32"),
        (np.zeros((4, 4), bool), "dtype bool"),
        (np.full((2, 2), np.nan, np.float32), "NaN"),
    ],
)
def test_from_array_rejects_bad_input_clearly(arr: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_array(arr)


def test_to_array_rejects_unsupported_dtype_and_nan() -> None:
    img = from_array(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        to_array(img, np.int16)
    with pytest.raises(ValueError, match="NaN"):
        to_array(replace(img, rgb=np.full((2, 2, 1), np.nan)), np.uint8)


def test_decoded_image_validates_and_normalises_fields() -> None:
    img = DecodedImage(np.zeros((3, 2, 3), np.float64)[:, ::-1])
    assert img.rgb.dtype == np.float32 and img.rgb.flags.c_contiguous
    with pytest.raises(ValueError, match="alpha"):
        DecodedImage(np.zeros((3, 2, 3)), alpha=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="bit_depth"):
        DecodedImage(np.zeros((3, 2, 3)), bit_depth=12)
    with pytest.raises(ValueError, match="rgb"):
        DecodedImage(np.zeros((3, 2, 2)))


@pytest.mark.parametrize(
    ("shape", "dtype", "mode"),
    [
        ((4, 3), np.uint8, "L"),
        ((4, 3, 2), np.uint8, "LA"),
        ((4, 3, 3), np.uint8, "RGB"),
        ((4, 3, 4), np.uint8, "RGBA"),
        ((4, 3), np.uint16, "I;16"),
    ],
)
def test_to_pil_modes_are_exact(shape: tuple[int, ...], dtype: type, mode: str) -> None:
    arr = RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    pil = to_pil(from_array(arr))
    assert pil.mode == mode
    assert pil.size == (3, 4)
    np.testing.assert_array_equal(np.asarray(pil), arr)


@pytest.mark.parametrize(("channels", "mode"), [(2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_to_pil_reduces_16_bit_colour_to_rounded_8_bit(channels: int, mode: str) -> None:
    arr = RNG.integers(0, 65536, (4, 3, channels), dtype=np.uint16)
    pil = to_pil(from_array(arr))
    assert pil.mode == mode
    np.testing.assert_array_equal(np.asarray(pil), np.rint(arr / 257).astype(np.uint8))


def test_integer_conversion_in_bands_equals_the_whole_formula(monkeypatch):
    """Huge outputs are quantised a band of rows at a time (no full-size float temporaries)."""
    import srlab.io.image as image_module

    rng = np.random.default_rng(0)
    rgb = (rng.random((37, 11, 3), dtype=np.float32) * 1.2 - 0.1).astype(np.float32)
    alpha = rng.random((37, 11), dtype=np.float32)
    img = DecodedImage(rgb, alpha, 8)
    monkeypatch.setattr(image_module, "_QUANTIZE_BAND", 50)  # bands of one row
    for dtype, scale in ((np.uint8, 255), (np.uint16, 65535)):
        expected = np.rint(np.clip(np.dstack([rgb, alpha]), 0, 1) * np.float32(scale))
        assert np.array_equal(to_array(img, dtype), expected.astype(dtype))
    rgb[5, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        to_array(img, np.uint8)
