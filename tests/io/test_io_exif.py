"""EXIF through srlab: kept byte for byte with orientation 1, in and out of every format."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from srlab.io import from_array, read_image, to_array, write_image

RNG = np.random.default_rng(23)
MAKER_NOTE = b"ACME\x00\x01" + bytes(range(40))


def _camera_exif(orientation: int | None = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    exif[0x0110] = "Model X"
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09", 0x829A: (1, 250), 0x927C: MAKER_NOTE}
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}
    return exif


def _camera_jpeg(path: Path, orientation: int | None = 6) -> Path:
    pixels = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95, exif=_camera_exif(orientation))
    return path


def _assert_camera_tags(exif: Image.Exif) -> None:
    assert exif[0x010F] == "ACME"
    assert exif[0x0110] == "Model X"
    assert exif.get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"
    assert exif.get_ifd(0x8769)[0x927C] == MAKER_NOTE
    assert exif.get_ifd(0x8825)[1] == "N"


def test_read_keeps_the_block_byte_for_byte_but_the_orientation(tmp_path: Path) -> None:
    source = _camera_jpeg(tmp_path / "cam.jpg")
    with Image.open(source) as pil:
        original = pil.info["exif"]
    kept = read_image(source).exif
    assert len(kept) == len(original)
    changed = [i for i, (a, b) in enumerate(zip(kept, original, strict=True)) if a != b]
    assert len(changed) == 1  # the low byte of the orientation value: 6 -> 1
    parsed = Image.Exif()
    parsed.load(kept)
    assert parsed[0x0112] == 1
    _assert_camera_tags(parsed)


def test_a_block_without_orientation_gets_none(tmp_path: Path) -> None:
    img = read_image(_camera_jpeg(tmp_path / "cam.jpg", orientation=None))
    parsed = Image.Exif()
    parsed.load(img.exif)
    assert 0x0112 not in parsed
    _assert_camera_tags(parsed)


@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("alpha", [False, True])
def test_tiff_output_carries_exif_with_orientation_1(
    tmp_path: Path, depth: int, alpha: bool
) -> None:
    img = replace(read_image(_camera_jpeg(tmp_path / "cam.jpg")), bit_depth=depth)
    if alpha:
        img = replace(img, alpha=np.full(img.rgb.shape[:2], 0.5, np.float32))
    out = write_image(tmp_path / "out.tif", img)
    with tifffile.TiffFile(out) as tif:
        tags = tif.pages[0].tags
        assert tags["Make"].value == "ACME"
        assert tags["Orientation"].value == 1
        assert tags["ExifTag"].value["DateTimeOriginal"] == "2024:05:06 07:08:09"
        assert tags["GPSTag"].value["GPSLatitudeRef"] == "N"
        assert tif.pages[0].shape[:2] == (32, 24)  # upright
    back = read_image(out)
    np.testing.assert_array_equal(to_array(back, np.uint8), to_array(img, np.uint8))
    assert back.bit_depth == depth
    parsed = Image.Exif()
    parsed.load(back.exif)
    _assert_camera_tags(parsed)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_of_a_tiff_source_reaches_other_formats(tmp_path: Path, suffix: str) -> None:
    tiff = write_image(tmp_path / "cam.tif", read_image(_camera_jpeg(tmp_path / "cam.jpg")))
    out = write_image(tmp_path / f"out{suffix}", read_image(tiff), quality=100)
    with Image.open(out) as written:
        _assert_camera_tags(written.getexif())


def test_exif_too_long_for_jpeg_is_left_out_of_jpeg_only(tmp_path: Path) -> None:
    exif = _camera_exif()
    exif[0x8769] = {0x9286: b"ASCII\x00\x00\x00" + b"x" * 70_000}  # a 70 kB user comment
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "long.png", exif=exif)
    img = read_image(tmp_path / "long.png")
    assert len(img.exif) > 65_533
    with Image.open(write_image(tmp_path / "out.jpg", img)) as jpeg:
        assert "exif" not in jpeg.info
    with Image.open(write_image(tmp_path / "out.png", img)) as png:
        assert len(png.info["exif"]) > 65_533


def test_images_without_exif_stay_without(tmp_path: Path) -> None:
    img = from_array(RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8))
    for suffix in (".jpg", ".png", ".webp", ".tif"):
        assert read_image(write_image(tmp_path / f"a{suffix}", img, quality=100)).exif is None


def test_a_block_given_without_its_exif_header_is_written_validly(tmp_path: Path) -> None:
    """DecodedImage.exif set by hand as bare TIFF structure (as WebP stores it) still works."""
    bare = _camera_exif(orientation=None).tobytes().removeprefix(b"Exif\x00\x00")
    img = replace(from_array(RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)), exif=bare)
    for suffix in (".jpg", ".png", ".webp", ".tif"):
        with Image.open(write_image(tmp_path / f"a{suffix}", img, quality=100)) as written:
            _assert_camera_tags(written.getexif())
