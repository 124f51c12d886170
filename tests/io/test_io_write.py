"""write_image: formats x modes round trips, bit depth, alpha policy, metadata, safety."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from srlab.io import (
    SUPPORTED_SUFFIXES,
    DecodedImage,
    ImageWriteError,
    OutputExistsError,
    from_array,
    output_format_for,
    read_image,
    to_array,
    write_image,
)

RNG = np.random.default_rng(5)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
FAKE_GRAY_PROFILE = b"\x00" * 16 + b"GRAY" + b"\x00" * 108


def _u8(*shape: int) -> np.ndarray:
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _u16(*shape: int) -> np.ndarray:
    return (RNG.integers(0, 256, shape) * 256 + RNG.integers(1, 256, shape)).astype(np.uint16)


def _samples(img: DecodedImage, dtype: type) -> np.ndarray:
    out = to_array(img, dtype)
    return out.reshape(*out.shape[:2], -1)


def _smooth(channels: int) -> np.ndarray:
    """A smooth 8-bit picture, so lossy codecs stay close to it."""
    y, x = np.mgrid[0:32, 0:32]
    planes = [x * 3 + y * 2 + 30 * c + 20 for c in range(channels)]
    return np.dstack(planes).astype(np.uint8)


# --- suffixes -----------------------------------------------------------------------


def test_output_format_for_suffixes() -> None:
    assert {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"} == SUPPORTED_SUFFIXES
    assert output_format_for("a/b.JPG") == "JPEG"
    assert output_format_for(Path("x.tiff")) == "TIFF"
    assert output_format_for("x.webp") == "WEBP"
    with pytest.raises(ValueError, match=r"'\.gif'"):
        output_format_for("x.gif")
    with pytest.raises(ValueError, match="no suffix"):
        output_format_for("x")


def test_unknown_suffix_is_a_write_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match=r"x\.gif: unsupported output file type"):
        write_image(tmp_path / "x.gif", from_array(_u8(4, 4, 3)))
    assert list(tmp_path.iterdir()) == []


# --- exact round trips ---------------------------------------------------------------

EXACT = [(s, c, d) for s in (".png", ".tif") for c in (1, 2, 3, 4) for d in (8, 16)] + [
    (".webp", 3, 8),
    (".webp", 4, 8),
    (".bmp", 1, 8),
    (".bmp", 3, 8),
]


@pytest.mark.parametrize(("suffix", "channels", "depth"), EXACT)
def test_lossless_round_trip_keeps_pixels_depth_gray_and_alpha(
    tmp_path: Path, suffix: str, channels: int, depth: int
) -> None:
    samples = _u8(13, 17, channels) if depth == 8 else _u16(13, 17, channels)
    out = write_image(tmp_path / f"out{suffix}", from_array(samples), quality=100)
    back = read_image(out)
    assert back.bit_depth == depth
    assert back.has_alpha is (channels in (2, 4))
    dtype = np.uint8 if depth == 8 else np.uint16
    if suffix == ".tif" and channels == 2 and depth == 16:
        # Documented: 16-bit gray + alpha TIFF is stored as RGBA (Pillow cannot read it).
        assert not back.is_gray
        np.testing.assert_array_equal(_samples(back, dtype), samples[:, :, [0, 0, 0, 1]])
    else:
        assert back.is_gray is (channels <= 2)
        np.testing.assert_array_equal(_samples(back, dtype), samples)


@pytest.mark.parametrize("channels", [1, 2])
def test_webp_stores_gray_as_equal_rgb(tmp_path: Path, channels: int) -> None:
    samples = _u8(8, 8, channels)
    back = read_image(write_image(tmp_path / "g.webp", from_array(samples), quality=100))
    assert not back.is_gray
    expected = samples[:, :, [0, 0, 0, 1][: 3 + channels - 1]]
    np.testing.assert_array_equal(_samples(back, np.uint8), expected)


@pytest.mark.parametrize(
    ("suffix", "channels"), [(".jpg", 1), (".jpg", 3), (".webp", 3), (".webp", 4)]
)
def test_lossy_formats_stay_close(tmp_path: Path, suffix: str, channels: int) -> None:
    samples = _smooth(channels)
    back = read_image(write_image(tmp_path / f"a{suffix}", from_array(samples)))
    assert back.is_gray is (channels == 1)
    assert back.has_alpha is (channels == 4)
    error = np.abs(_samples(back, np.uint8).astype(int) - samples.astype(int))
    assert error.mean() < 2.0


# --- bit depth ----------------------------------------------------------------------


def test_sixteen_bit_to_eight_bit_formats_is_rounded(tmp_path: Path) -> None:
    samples = _u16(9, 9, 3)
    img = from_array(samples)
    back = read_image(write_image(tmp_path / "a.png", img, bit_depth=8))
    assert back.bit_depth == 8
    np.testing.assert_array_equal(to_array(back, np.uint8), np.rint(samples / 257))
    assert read_image(write_image(tmp_path / "a.jpg", img)).bit_depth == 8
    bmp = read_image(write_image(tmp_path / "a.bmp", img))
    np.testing.assert_array_equal(to_array(bmp, np.uint8), np.rint(samples / 257))


def test_eight_bit_can_be_written_as_sixteen(tmp_path: Path) -> None:
    samples = _u8(5, 5, 3)
    back = read_image(write_image(tmp_path / "a.tif", from_array(samples), bit_depth=16))
    assert back.bit_depth == 16
    np.testing.assert_array_equal(to_array(back, np.uint16), samples.astype(np.uint16) * 257)


def test_float_values_are_rounded_not_truncated(tmp_path: Path) -> None:
    img = DecodedImage(np.full((2, 2, 1), 0.7 / 255, np.float32))
    np.testing.assert_array_equal(
        to_array(read_image(write_image(tmp_path / "a.png", img)), np.uint8), 1
    )


# --- alpha policy -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_transparency_to_jpeg_or_bmp_is_refused_with_advice(tmp_path: Path, suffix: str) -> None:
    samples = _u8(6, 6, 4)
    samples[0, 0, 3] = 10
    with pytest.raises(ImageWriteError, match=r"cannot store transparency; save as \.png") as info:
        write_image(tmp_path / f"a{suffix}", from_array(samples))
    assert info.value.path == tmp_path / f"a{suffix}"
    assert list(tmp_path.iterdir()) == []


def test_drop_alpha_writes_colour_only(tmp_path: Path) -> None:
    samples = _u8(6, 6, 4)
    samples[:, :, 3] = 0
    back = read_image(write_image(tmp_path / "a.bmp", from_array(samples), drop_alpha=True))
    assert not back.has_alpha
    np.testing.assert_array_equal(to_array(back, np.uint8), samples[:, :, :3])


def test_fully_opaque_alpha_is_dropped_silently(tmp_path: Path) -> None:
    samples = _u8(6, 6, 2)
    samples[:, :, 1] = 255
    back = read_image(write_image(tmp_path / "a.bmp", from_array(samples)))
    assert back.is_gray and not back.has_alpha
    np.testing.assert_array_equal(to_array(back, np.uint8), samples[:, :, 0])


# --- JPEG settings ------------------------------------------------------------------


def test_jpeg_defaults_are_quality_95_and_444(tmp_path: Path) -> None:
    img = from_array(_smooth(3))
    out = write_image(tmp_path / "a.jpg", img)
    reference = tmp_path / "ref.jpg"
    Image.fromarray(_smooth(3)).save(reference, quality=95)
    with Image.open(out) as ours, Image.open(reference) as ref:
        assert JpegImagePlugin.get_sampling(ours) == 0  # 4:4:4
        assert ours.quantization == ref.quantization
    low = write_image(tmp_path / "low.jpg", img, quality=40)
    with Image.open(low) as ours:
        assert ours.quantization != ref.quantization


# --- metadata -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "depth"),
    [(".png", 8), (".png", 16), (".jpg", 8), (".webp", 8), (".tif", 8), (".tif", 16)],
)
def test_icc_profile_is_kept(tmp_path: Path, suffix: str, depth: int) -> None:
    img = replace(from_array(_u8(6, 6, 3)), icc_profile=SRGB, bit_depth=depth)
    assert read_image(write_image(tmp_path / f"a{suffix}", img)).icc_profile == SRGB


def test_bmp_cannot_carry_icc_profile(tmp_path: Path) -> None:
    img = replace(from_array(_u8(6, 6, 3)), icc_profile=SRGB)
    assert read_image(write_image(tmp_path / "a.bmp", img)).icc_profile is None


def test_gray_profile_is_kept_for_gray_and_dropped_when_gray_becomes_rgb(tmp_path: Path) -> None:
    img = replace(from_array(_u8(6, 6)), icc_profile=FAKE_GRAY_PROFILE)
    assert read_image(write_image(tmp_path / "a.png", img)).icc_profile == FAKE_GRAY_PROFILE
    assert read_image(write_image(tmp_path / "a.webp", img)).icc_profile is None


@pytest.mark.parametrize(
    ("suffix", "depth"), [(".jpg", 8), (".png", 8), (".png", 16), (".webp", 8)]
)
def test_exif_is_kept_without_stale_orientation(tmp_path: Path, suffix: str, depth: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "ACME"
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09"}  # Exif IFD: DateTimeOriginal
    source = tmp_path / "src.jpg"
    Image.fromarray(_smooth(3)[:, :24]).save(source, quality=100, exif=exif)
    decoded = replace(read_image(source), bit_depth=depth)
    out = write_image(tmp_path / f"out{suffix}", decoded, quality=100)
    with Image.open(out) as written:
        written.load()
        tags = written.getexif()
        assert written.size == (32, 24)  # upright: the stored image was 24 x 32
    assert tags[0x0112] == 1  # pixels are upright
    assert tags[0x010F] == "ACME"
    assert tags.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
    assert read_image(out).rgb.shape[:2] == (24, 32)


# --- safety -------------------------------------------------------------------------


def test_never_overwrites_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"precious")
    img = from_array(_u8(4, 4, 3))
    with pytest.raises(OutputExistsError, match="already exists"):
        write_image(target, img)
    assert target.read_bytes() == b"precious"
    write_image(target, img, overwrite=True)
    assert read_image(target).rgb.shape == (4, 4, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_encoder_failure_names_target_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(self: Image.Image, *args: object, **kwargs: object) -> None:
        raise OSError("encoder error -2 when writing image file")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / "a.jpg", from_array(_u8(4, 4, 3)))
    assert str(info.value).startswith(f"cannot write {tmp_path / 'a.jpg'}: JPEG encoding failed")
    assert list(tmp_path.iterdir()) == []


def test_invalid_arguments_are_value_errors(tmp_path: Path) -> None:
    img = from_array(_u8(4, 4, 3))
    with pytest.raises(ValueError, match="bit_depth"):
        write_image(tmp_path / "a.png", img, bit_depth=12)
    with pytest.raises(ValueError, match="quality"):
        write_image(tmp_path / "a.jpg", img, quality=0)
    assert list(tmp_path.iterdir()) == []
