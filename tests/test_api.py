"""`srlab.upscale` takes a path, a PIL image or an array and returns the same kind."""

import numpy as np
import pytest
from PIL import Image

import srlab
from srlab.ops.resize import imresize


def test_numpy_in_numpy_out_keeps_dtype():
    rng = np.random.default_rng(1)
    arr8 = (rng.random((10, 12, 3)) * 255).astype(np.uint8)
    out8 = srlab.upscale(arr8, scale=2, model="bicubic")
    assert out8.dtype == np.uint8 and out8.shape == (20, 24, 3)
    expected = np.clip(np.round(imresize(arr8.astype(np.float64) / 255, 2) * 255), 0, 255)
    assert np.abs(out8.astype(int) - expected).max() <= 1
    arr16 = (rng.random((10, 12)) * 65535).astype(np.uint16)
    out16 = srlab.upscale(arr16, scale=3)
    assert out16.dtype == np.uint16 and out16.shape == (30, 36)


def test_pil_and_path_inputs_give_pil_images(tmp_path):
    img = Image.new("RGBA", (9, 7), (10, 200, 30, 100))
    out = srlab.upscale(img, scale=2)
    assert isinstance(out, Image.Image) and out.size == (18, 14) and out.mode == "RGBA"
    path = tmp_path / "x.png"
    img.save(path)
    assert srlab.upscale(path).size == (36, 28)


def test_bad_array_is_refused():
    with pytest.raises(ValueError):
        srlab.upscale(np.zeros((4, 4, 5), np.uint8))


@pytest.mark.parametrize("image", [None, 3, b"\x89PNG", [[0, 1]]])
def test_inputs_of_other_types_are_refused_by_name(image):
    with pytest.raises(TypeError, match="takes a file path, a PIL image or a numpy array, not"):
        srlab.upscale(image, model="bicubic")


def test_api_takes_float_scales_and_target_sides():
    arr = (np.random.default_rng(2).random((17, 21, 3)) * 255).astype(np.uint8)
    assert srlab.upscale(arr, model="bicubic", scale=2.5).shape == (43, 53, 3)
    assert srlab.upscale(arr, model="bicubic", width=100).shape == (81, 100, 3)
    assert srlab.upscale(arr, model="bicubic", height=50).shape == (50, 62, 3)
    assert srlab.upscale(arr, model="bicubic", width=40, height=30).shape == (30, 40, 3)
    with pytest.raises(ValueError, match="either a scale or a target"):
        srlab.upscale(arr, model="bicubic", scale=2, width=10)
