"""read_image / from_pil: every format and mode, exact 16-bit, orientation, bad input."""

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from srlab.io import (
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    ImageReadError,
    from_pil,
    read_image,
    to_array,
)

RNG = np.random.default_rng(11)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ADAM7 = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _raw_png(
    path: Path,
    samples: np.ndarray,
    colour_type: int,
    *,
    interlace: bool = False,
    extra: bytes = b"",
    size: tuple[int, int] | None = None,
) -> Path:
    """A minimal 16-bit PNG written by hand (filter 0), independent of srlab's encoder."""
    height, width = samples.shape[:2]
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        part = samples[y0::dy, x0::dx]
        if part.size:
            raw += b"".join(b"\x00" + row.astype(">u2").tobytes() for row in part)
    width, height = size or (width, height)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlace))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )
    return path


def _u8(*shape: int) -> np.ndarray:
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _u16(*shape: int) -> np.ndarray:
    """16-bit samples whose low bytes are never zero: not representable in 8 bits."""
    return (RNG.integers(0, 256, shape) * 256 + RNG.integers(1, 256, shape)).astype(np.uint16)


def _samples(img: DecodedImage, dtype: type) -> np.ndarray:
    out = to_array(img, dtype)
    return out.reshape(*out.shape[:2], -1)


# --- 8-bit formats and modes ---------------------------------------------------------


LOSSLESS_8BIT = (
    [("PNG", c) for c in (1, 2, 3, 4)]
    + [("TIFF", c) for c in (1, 2, 3, 4)]
    + [("WEBP", 3), ("WEBP", 4), ("BMP", 1), ("BMP", 3)]
)


@pytest.mark.parametrize(("fmt", "channels"), LOSSLESS_8BIT)
def test_eight_bit_lossless_formats_read_exactly(tmp_path: Path, fmt: str, channels: int) -> None:
    samples = _u8(9, 7, channels)
    path = tmp_path / f"img.{fmt.lower()}"
    options = {"lossless": True, "exact": True} if fmt == "WEBP" else {}
    Image.fromarray(samples if channels > 1 else samples[:, :, 0]).save(path, fmt, **options)
    img = read_image(path)
    assert (img.format, img.bit_depth, img.path) == (fmt, 8, path)
    assert img.is_gray is (channels <= 2)
    assert img.has_alpha is (channels in (2, 4))
    np.testing.assert_array_equal(_samples(img, np.uint8), samples)


def test_palette_png_becomes_rgb(tmp_path: Path) -> None:
    rgb = Image.fromarray(_u8(10, 12, 3)).quantize(16)
    rgb.save(tmp_path / "p.png")
    img = read_image(tmp_path / "p.png")
    assert not img.is_gray and not img.has_alpha
    np.testing.assert_array_equal(_samples(img, np.uint8), np.asarray(rgb.convert("RGB")))


def test_palette_png_with_trns_becomes_rgba(tmp_path: Path) -> None:
    pal = Image.fromarray(_u8(10, 12, 3)).quantize(8)
    pal.save(tmp_path / "p.png", transparency=bytes([0, 128] + [255] * 6))
    img = read_image(tmp_path / "p.png")
    assert img.has_alpha and not img.is_gray
    index = np.asarray(pal)
    expected_alpha = np.select([index == 0, index == 1], [0, 128], 255)
    np.testing.assert_array_equal(_samples(img, np.uint8)[:, :, 3], expected_alpha)
    np.testing.assert_array_equal(_samples(img, np.uint8)[:, :, :3], np.asarray(pal.convert("RGB")))


def test_gray_png_with_trns_gets_alpha(tmp_path: Path) -> None:
    gray = _u8(6, 6)
    Image.fromarray(gray).save(tmp_path / "g.png", transparency=int(gray[0, 0]))
    img = read_image(tmp_path / "g.png")
    assert img.is_gray and img.has_alpha
    np.testing.assert_array_equal(
        to_array(img, np.uint8)[:, :, 1], np.where(gray == gray[0, 0], 0, 255)
    )


def test_bilevel_png_becomes_gray(tmp_path: Path) -> None:
    bits = _u8(8, 8) > 127
    Image.fromarray(bits).save(tmp_path / "b.png")
    img = read_image(tmp_path / "b.png")
    np.testing.assert_array_equal(to_array(img, np.uint8), np.where(bits, 255, 0))


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_reads_like_pillow(tmp_path: Path, channels: int) -> None:
    samples = _u8(16, 16, channels)
    Image.fromarray(samples if channels == 3 else samples[:, :, 0]).save(tmp_path / "a.jpg")
    img = read_image(tmp_path / "a.jpg")
    assert (img.format, img.bit_depth, img.is_gray) == ("JPEG", 8, channels == 1)
    with Image.open(tmp_path / "a.jpg") as ref:
        np.testing.assert_array_equal(to_array(img, np.uint8), np.asarray(ref))


def test_cmyk_jpeg_becomes_rgb_and_drops_cmyk_profile(tmp_path: Path) -> None:
    cmyk = Image.fromarray(_u8(8, 8, 4), "CMYK")
    fake_cmyk_profile = b"\x00" * 16 + b"CMYK" + b"\x00" * 108
    cmyk.save(tmp_path / "c.jpg", icc_profile=fake_cmyk_profile)
    img = read_image(tmp_path / "c.jpg")
    assert not img.is_gray and img.icc_profile is None
    with Image.open(tmp_path / "c.jpg") as ref:
        assert ref.mode == "CMYK"
        np.testing.assert_array_equal(to_array(img, np.uint8), np.asarray(ref.convert("RGB")))


def test_mpo_camera_jpeg_reports_jpeg(tmp_path: Path) -> None:
    frames = [Image.fromarray(_u8(8, 8, 3)), Image.fromarray(_u8(8, 8, 3))]
    frames[0].save(tmp_path / "cam.jpg", "MPO", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "cam.jpg") as raw:
        assert raw.format == "MPO"
    assert read_image(tmp_path / "cam.jpg").format == "JPEG"


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tif"), ("WEBP", "webp")]
)
def test_icc_profile_is_read(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"a.{suffix}"
    Image.fromarray(_u8(8, 8, 3)).save(path, fmt, icc_profile=SRGB)
    assert read_image(path).icc_profile == SRGB


def test_ycbcr_image_is_converted_to_rgb() -> None:
    rgb = Image.fromarray(_u8(5, 5, 3))
    img = from_pil(rgb.convert("YCbCr"))
    np.testing.assert_array_equal(
        to_array(img, np.uint8), np.asarray(rgb.convert("YCbCr").convert("RGB"))
    )


# --- exact 16-bit ---------------------------------------------------------------------


def test_sixteen_bit_gray_png_is_exact(tmp_path: Path) -> None:
    samples = _u16(9, 13)
    Image.fromarray(samples).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert (img.bit_depth, img.is_gray, img.has_alpha) == (16, True, False)
    np.testing.assert_array_equal(to_array(img, np.uint16), samples)


@pytest.mark.parametrize("interlace", [False, True])
@pytest.mark.parametrize(("channels", "colour_type"), [(2, 4), (3, 2), (4, 6)])
def test_sixteen_bit_colour_png_is_exact(
    tmp_path: Path, channels: int, colour_type: int, interlace: bool
) -> None:
    samples = _u16(11, 13, channels)
    path = _raw_png(tmp_path / "c16.png", samples, colour_type, interlace=interlace)
    img = read_image(path)
    assert (img.bit_depth, img.format) == (16, "PNG")
    assert img.is_gray is (channels == 2)
    assert img.has_alpha is (channels in (2, 4))
    np.testing.assert_array_equal(_samples(img, np.uint16), samples)


@pytest.mark.parametrize(
    ("channels", "colour_type", "key"), [(1, 0, b"\x12\x34"), (3, 2, b"\x12\x34\x00\x01\xff\xfe")]
)
def test_sixteen_bit_trns_colour_key_becomes_alpha(
    tmp_path: Path, channels: int, colour_type: int, key: bytes
) -> None:
    samples = _u16(6, 5, channels)
    samples[2, 3] = np.frombuffer(key, ">u2")
    samples[2, 4] = np.frombuffer(key, ">u2") ^ 1  # differs in the lowest bit only
    path = _raw_png(tmp_path / "t.png", samples, colour_type, extra=_chunk(b"tRNS", key))
    img = read_image(path)
    assert img.has_alpha and img.bit_depth == 16
    expected = np.full((6, 5), 65535)
    expected[2, 3] = 0
    np.testing.assert_array_equal(_samples(img, np.uint16)[:, :, -1], expected)
    np.testing.assert_array_equal(_samples(img, np.uint16)[:, :, :-1], samples)


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("compression", [None, "zlib"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_sixteen_bit_tiff_is_exact(
    tmp_path: Path, byteorder: str, compression: str | None, channels: int
) -> None:
    samples = _u16(12, 9, channels)
    path = tmp_path / "t16.tif"
    tifffile.imwrite(
        path,
        samples if channels > 1 else samples[:, :, 0],
        byteorder=byteorder,
        photometric="rgb" if channels > 1 else "minisblack",
        extrasamples=["unassalpha"] if channels == 4 else None,
        compression=compression,
        predictor=compression is not None,
        rowsperstrip=5,
    )
    img = read_image(path)
    assert (img.bit_depth, img.format) == (16, "TIFF")
    np.testing.assert_array_equal(_samples(img, np.uint16), samples)


def test_sixteen_bit_tiff_with_unspecified_extra_sample_is_rgb(tmp_path: Path) -> None:
    samples = _u16(4, 4, 4)
    tifffile.imwrite(tmp_path / "x.tif", samples, photometric="rgb", extrasamples=["unspecified"])
    img = read_image(tmp_path / "x.tif")
    assert not img.has_alpha
    np.testing.assert_array_equal(to_array(img, np.uint16), samples[:, :, :3])


# --- orientation --------------------------------------------------------------------

EXPECTED_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ACME"
    return exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_is_applied_and_reset_to_1(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / "o.jpg"
    Image.fromarray(_u8(12, 20, 3)).save(path, quality=100, exif=_exif(orientation))
    with Image.open(path) as stored:
        stored.load()
        method = EXPECTED_TRANSPOSE[orientation]
        expected = np.asarray(stored if method is None else stored.transpose(method))
    img = read_image(path)
    np.testing.assert_array_equal(to_array(img, np.uint8), expected)
    exif = Image.Exif()
    exif.load(img.exif)
    assert exif[0x0112] == 1  # pixels are upright now
    assert exif[0x010F] == "ACME"


def test_orientation_6_turns_top_left_marker_to_top_right(tmp_path: Path) -> None:
    gray = np.zeros((4, 6), np.uint8)
    gray[0, 0] = 255
    Image.fromarray(gray).save(tmp_path / "m.png", exif=_exif(6))
    out = to_array(read_image(tmp_path / "m.png"), np.uint8)
    assert out.shape == (6, 4)
    assert out[0, 3] == 255 and out.sum() == 255


def test_orientation_applies_to_exact_sixteen_bit_png(tmp_path: Path) -> None:
    samples = _u16(5, 7, 3)
    exif = _exif(8).tobytes()[6:]  # eXIf holds the TIFF block without the "Exif" prefix
    path = _raw_png(tmp_path / "o16.png", samples, 2, extra=_chunk(b"eXIf", exif))
    img = read_image(path)
    np.testing.assert_array_equal(_samples(img, np.uint16), np.rot90(samples))


def test_tiff_orientation_tag_is_applied(tmp_path: Path) -> None:
    gray = _u8(4, 6)
    Image.fromarray(gray).save(tmp_path / "o.tif", exif=_exif(3))
    np.testing.assert_array_equal(
        to_array(read_image(tmp_path / "o.tif"), np.uint8), gray[::-1, ::-1]
    )


def test_malformed_exif_is_dropped_not_fatal(tmp_path: Path) -> None:
    Image.fromarray(_u8(8, 8, 3)).save(tmp_path / "e.jpg", exif=b"Exif\x00\x00not a tiff block")
    img = read_image(tmp_path / "e.jpg")
    assert img.exif is None and img.rgb.shape == (8, 8, 3)


# --- bad input ----------------------------------------------------------------------


def _png_bytes(tmp_path: Path) -> bytes:
    Image.fromarray(_u8(64, 64, 3)).save(tmp_path / "src.png")
    return (tmp_path / "src.png").read_bytes()


def _jpeg_bytes(tmp_path: Path) -> bytes:
    Image.fromarray(_u8(64, 64, 3)).save(tmp_path / "src.jpg")
    return (tmp_path / "src.jpg").read_bytes()


BAD_FILES = {
    "missing": (None, "file not found"),
    "empty.png": (lambda t: b"", "empty"),
    "truncated.png": (lambda t: _png_bytes(t)[: len(_png_bytes(t)) // 2], "truncated"),
    "truncated.jpg": (lambda t: _jpeg_bytes(t)[: len(_jpeg_bytes(t)) // 2], "truncated"),
    "text.png": (lambda t: b"hello, I am not a picture\n", "not a PNG, JPEG"),
    "bad_idat.png": (
        lambda t: _png_bytes(t)[:60] + b"\x00" * 50 + _png_bytes(t)[110:],
        "corrupt or truncated",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_one_line_read_error_naming_file(tmp_path: Path, name: str) -> None:
    make, reason = BAD_FILES[name]
    path = tmp_path / name
    if make is not None:
        path.write_bytes(make(tmp_path))
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert info.value.path == path
    assert message.startswith(f"cannot read {path}: ")
    assert reason in message
    assert "\n" not in message


def test_truncated_sixteen_bit_colour_png_is_a_read_error(tmp_path: Path) -> None:
    path = _raw_png(tmp_path / "c16.png", _u16(40, 40, 3), 2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


def test_folder_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_unsupported_format_is_refused(tmp_path: Path) -> None:
    Image.fromarray(_u8(4, 4, 3)).save(tmp_path / "a.gif")
    with pytest.raises(ImageReadError, match="not a PNG, JPEG, WebP, TIFF or BMP"):
        read_image(tmp_path / "a.gif")


@pytest.mark.parametrize(
    ("array", "reason"),
    [
        (np.zeros((4, 4), np.float32), "floating point"),
        (np.zeros((4, 4), np.int32), "32-bit integer"),
    ],
)
def test_unsupported_tiff_modes_are_refused(tmp_path: Path, array: np.ndarray, reason: str) -> None:
    Image.fromarray(array).save(tmp_path / "x.tif")
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(tmp_path / "x.tif")
    assert str(tmp_path / "x.tif") in str(info.value)


def test_unsupported_in_memory_mode_is_named_as_in_memory() -> None:
    with pytest.raises(ImageReadError, match="cannot read in-memory image: unsupported"):
        from_pil(Image.new("I", (3, 3)))


# --- pixel limits -------------------------------------------------------------------


def test_default_limit_is_100_megapixels() -> None:
    assert DEFAULT_MAX_PIXELS == 100_000_000


def test_too_many_pixels_is_refused(tmp_path: Path) -> None:
    Image.fromarray(_u8(20, 30, 3)).save(tmp_path / "a.png")
    with pytest.raises(ImageReadError, match="30 x 20 = 600 pixels, more than the limit of 599"):
        read_image(tmp_path / "a.png", max_pixels=599)
    assert read_image(tmp_path / "a.png", max_pixels=600).rgb.shape == (20, 30, 3)


def test_limit_is_checked_from_header_before_decoding(tmp_path: Path) -> None:
    data = _png_bytes(tmp_path)
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="more than the limit"):
        read_image(tmp_path / "t.png", max_pixels=100)


def test_pillow_decompression_bomb_is_a_read_error(tmp_path: Path) -> None:
    path = _raw_png(tmp_path / "bomb.png", _u16(1, 1), 0, size=(20_000, 10_000))
    with pytest.raises(ImageReadError, match="decompression-bomb"):
        read_image(path, max_pixels=None)


@pytest.mark.parametrize(("channels", "colour_type"), [(1, 0), (3, 2)])
def test_no_pillow_warning_below_our_limit(tmp_path: Path, channels: int, colour_type: int) -> None:
    header = (10_000, 9_000)  # 90 MP: over Pillow's warning level, under our default limit
    path = _raw_png(tmp_path / "big.png", _u16(1, 1, channels), colour_type, size=header)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageReadError, match="more than the limit"):
            read_image(path, max_pixels=80_000_000)
        with pytest.raises(ImageReadError, match=r"truncated|corrupt"):
            read_image(path)


def test_from_pil_checks_limit_and_names_source_file(tmp_path: Path) -> None:
    Image.fromarray(_u8(10, 10, 3)).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as pil, pytest.raises(ImageReadError) as info:
        from_pil(pil, max_pixels=10)
    assert info.value.path == tmp_path / "a.png"


def test_from_pil_decodes_unloaded_sixteen_bit_colour_exactly(tmp_path: Path) -> None:
    samples = _u16(7, 5, 3)
    path = _raw_png(tmp_path / "c16.png", samples, 2)
    with Image.open(path) as pil:
        img = from_pil(pil)
    assert img.bit_depth == 16 and img.path == path
    np.testing.assert_array_equal(to_array(img, np.uint16), samples)
