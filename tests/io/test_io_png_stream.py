"""PNG written a band of rows at a time: PngWriter's rows and filters, write_png_streamed's
pixels, metadata, atomicity and errors, checked against Pillow's and srlab's decoders."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from srlab.io import (
    DecodedImage,
    ImageWriteError,
    OutputExistsError,
    from_array,
    read_image,
    to_array,
    write_image,
    write_png_streamed,
)
from srlab.io.png import PngWriter
from tests.io.png_rows import filter_types

RNG = np.random.default_rng(11)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
GRAY_PROFILE = b"\x00" * 16 + b"GRAY" + b"\x00" * 108


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    return exif.tobytes()  # starts with "Exif\0\0", as DecodedImage keeps it


def _content(height: int, width: int, channels: int, dtype: type) -> np.ndarray:
    """Noise, ramps, repeated rows and smooth gradients, so every filter type is chosen; the
    repeated rows straddle band edges, where the row above comes from the band before."""
    top = np.iinfo(dtype).max + 1
    y, x = np.mgrid[0:height, 0:width]
    smooth = (x * 977 + y * 1231 + (x * y) % 97 * 13) % top
    rows = np.repeat(smooth[:, :, None], channels, axis=2).astype(dtype)
    rows[0:5] = RNG.integers(0, top, (5, width, channels))
    rows[5:9] = (np.arange(width)[None, :, None] * 7) % top
    rows[9:15] = rows[8]
    return rows


def _bands(samples: np.ndarray, heights: list[int]) -> Iterator[np.ndarray]:
    """`samples` cut into bands of the given heights (repeated until the rows run out)."""
    top = 0
    for height in itertools.cycle(heights):
        if top >= len(samples):
            return
        yield samples[top : top + height]
        top += height


def _encode(samples: np.ndarray, heights: list[int], **metadata: bytes) -> bytes:
    height, width, channels = samples.shape
    out = io.BytesIO()
    png = PngWriter(out, width=width, height=height, channels=channels,
                    bit_depth=8 * samples.itemsize, **metadata)
    for band in _bands(samples, heights):
        png.write(band)
    png.finish()
    return out.getvalue()


@pytest.mark.parametrize(("channels", "mode"), [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_8_bit_bands_decode_exactly_in_pillow_and_use_every_filter(channels, mode):
    samples = _content(90, 37, channels, np.uint8)
    data = _encode(samples, [1, 7, 13, 40])
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == mode
        np.testing.assert_array_equal(np.asarray(img).reshape(samples.shape), samples)
    assert filter_types(data, channels) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_bands_decode_exactly(tmp_path, channels):
    samples = _content(70, 29, channels, np.uint16)
    path = tmp_path / "deep.png"
    path.write_bytes(_encode(samples, [3, 20]))
    decoded = read_image(path)
    assert decoded.bit_depth == 16
    np.testing.assert_array_equal(to_array(decoded, np.uint16).reshape(samples.shape), samples)


def test_the_file_does_not_depend_on_the_banding():
    samples = _content(300, 61, 3, np.uint8)
    whole = _encode(samples, [300], icc_profile=SRGB, exif=_exif())
    assert _encode(samples, [1], icc_profile=SRGB, exif=_exif()) == whole
    assert _encode(samples, [17, 5, 64], icc_profile=SRGB, exif=_exif()) == whole


def test_rows_are_counted_and_checked():
    def writer() -> PngWriter:
        return PngWriter(io.BytesIO(), width=5, height=4, channels=3, bit_depth=8)

    png = writer()
    png.write(np.zeros((3, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="given only 3"):
        png.finish()
    with pytest.raises(ValueError, match="4 rows given 5 rows"):
        png.write(np.zeros((2, 5, 3), np.uint8))
    png.write(np.zeros((1, 5, 3), np.uint8))
    png.finish()
    with pytest.raises(ValueError, match="uint8 rows of shape N x 5 x 3"):
        writer().write(np.zeros((1, 5, 3), np.uint16))
    with pytest.raises(ValueError, match="N x 5 x 3"):
        writer().write(np.zeros((1, 6, 3), np.uint8))
    with pytest.raises(ValueError, match=r"1\.\.4 channels of 8 or 16 bits"):
        PngWriter(io.BytesIO(), width=5, height=4, channels=3, bit_depth=12)


# --- write_png_streamed -------------------------------------------------------------------


def _image(mode: str, bit_depth: int, height: int = 53, width: int = 31) -> DecodedImage:
    """A float image whose values fall between 8- and 16-bit steps, so quantisation matters."""
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    values = RNG.random((height, width, channels), dtype=np.float32)
    values[0, 0] = 0.5 / 255  # a tie: rounding half to even or away decides it
    image = from_array(values)
    icc = GRAY_PROFILE if channels <= 2 else SRGB
    return replace(image, bit_depth=bit_depth, icc_profile=icc, exif=_exif())


def _row_bands(image: DecodedImage, heights: list[int]) -> Iterator[DecodedImage]:
    top = 0
    for height in itertools.cycle(heights):
        if top >= image.height:
            return
        rows = slice(top, top + height)
        alpha = None if image.alpha is None else image.alpha[rows]
        yield replace(image, rgb=image.rgb[rows], alpha=alpha)
        top += height


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_a_streamed_png_is_write_images_png(tmp_path, mode, bit_depth):
    """Same pixels (quantised as write_image does), channels, bit depth, ICC profile and EXIF
    as the whole image written at once; and, the encoder being the same, the same bytes."""
    image = _image(mode, bit_depth)
    whole = write_image(tmp_path / "whole.png", image)
    streamed = write_png_streamed(tmp_path / "streamed.png", image.height,
                                  _row_bands(image, [1, 9, 20]))
    a, b = read_image(whole), read_image(streamed)
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    np.testing.assert_array_equal(to_array(b, dtype), to_array(image, dtype))
    assert (b.bit_depth, b.is_gray, b.has_alpha) == (bit_depth, mode[0] == "L", "A" in mode)
    assert b.icc_profile == a.icc_profile == image.icc_profile
    assert b.exif == a.exif and Image.open(streamed).getexif()[0x010F] == "ACME"
    assert streamed.read_bytes() == whole.read_bytes()


def test_8_bit_pixels_are_those_pillow_wrote_before(tmp_path):
    """Our encoder replaced Pillow's for 8-bit PNG: the decoded pixels are unchanged."""
    image = _image("RGBA", 8)
    Image.fromarray(to_array(image, np.uint8)).save(tmp_path / "pillow.png")
    ours = write_png_streamed(tmp_path / "ours.png", image.height, _row_bands(image, [8]))
    np.testing.assert_array_equal(np.asarray(Image.open(ours)),
                                  np.asarray(Image.open(tmp_path / "pillow.png")))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_failing_producer_leaves_no_file_and_its_error_passes_unchanged(tmp_path):
    image = _image("RGB", 8)

    def failing() -> Iterator[DecodedImage]:
        bands = _row_bands(image, [10])
        yield next(bands)
        yield next(bands)
        raise RuntimeError("the model broke")

    with pytest.raises(RuntimeError, match="the model broke"):
        write_png_streamed(tmp_path / "out.png", image.height, failing())
    assert _files(tmp_path) == []


def test_wrong_row_counts_and_bands_are_write_errors_and_leave_nothing(tmp_path):
    image = _image("RGB", 8)
    target = tmp_path / "out.png"
    failed = r"out\.png: PNG encoding failed: PNG of 56 rows given only 53"
    with pytest.raises(ImageWriteError, match=failed):
        write_png_streamed(target, image.height + 3, _row_bands(image, [25]))
    with pytest.raises(ImageWriteError, match="PNG encoding failed: PNG of 40 rows given"):
        write_png_streamed(target, 40, _row_bands(image, [25]))
    narrow = replace(image, rgb=image.rgb[:, :30])
    with pytest.raises(ImageWriteError, match="N x 31 x 3"):
        write_png_streamed(target, 106, iter([image, narrow]))
    with pytest.raises(ImageWriteError, match="no rows"):
        write_png_streamed(target, 1, iter([]))
    assert _files(tmp_path) == []


def test_existing_files_other_formats_and_nan_are_refused(tmp_path):
    image = _image("RGB", 8)
    started = []

    def bands() -> Iterator[DecodedImage]:
        started.append(True)
        yield image

    (tmp_path / "taken.png").write_bytes(b"mine")
    with pytest.raises(OutputExistsError):
        write_png_streamed(tmp_path / "taken.png", image.height, bands())
    assert started == [] and (tmp_path / "taken.png").read_bytes() == b"mine"
    write_png_streamed(tmp_path / "taken.png", image.height, bands(), overwrite=True)
    assert read_image(tmp_path / "taken.png").width == image.width
    with pytest.raises(ImageWriteError, match="only PNG is written a band of rows at a time"):
        write_png_streamed(tmp_path / "x.jpg", image.height, bands())
    broken = replace(image, rgb=np.full_like(image.rgb, np.nan))
    with pytest.raises(ImageWriteError, match="NaN"):
        write_png_streamed(tmp_path / "nan.png", image.height, iter([broken]))
    assert _files(tmp_path) == ["taken.png"]
