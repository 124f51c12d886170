"""The PNG encoder at 16 bits, checked against Pillow's independent PNG decoder."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.io.png import PngWriter
from tests.io.png_rows import filter_types

RNG = np.random.default_rng(3)


def write_png16(path: Path, samples: np.ndarray, **metadata: bytes) -> None:
    """Write H x W x C uint16 samples in one band."""
    height, width, channels = samples.shape
    with open(path, "wb") as out:
        png = PngWriter(out, width=width, height=height, channels=channels, bit_depth=16,
                        **metadata)
        png.write(samples)
        png.finish()


def _mixed_content(height: int, width: int, channels: int) -> np.ndarray:
    """Rows of noise, ramps, repeated rows and smooth gradients, so that the
    heuristic picks every PNG filter type somewhere."""
    y, x = np.mgrid[0:height, 0:width]
    smooth = (x * 977 + y * 1231 + (x * y) % 97 * 13) % 65536
    rows = np.repeat(smooth[:, :, None], channels, axis=2).astype(np.uint16)
    rows[0:4] = RNG.integers(0, 65536, (4, width, channels))  # noise: None
    rows[4:8] = (np.arange(width)[None, :, None] * 300) % 65536  # ramps: Sub
    rows[8:12] = rows[7]  # repeated rows: Up
    # A row whose every byte is the mean of its left and upper neighbours: Average.
    octets = rows.astype(">u2").view(np.uint8).reshape(height, -1).copy()
    bpp = 2 * channels
    for i in range(octets.shape[1]):
        left = int(octets[12, i - bpp]) if i >= bpp else 0
        octets[12, i] = (left + int(octets[11, i])) // 2
    return octets.view(">u2").reshape(height, width, channels).astype(np.uint16)


def test_gray_decodes_exactly_in_pillow_and_uses_every_filter(tmp_path: Path) -> None:
    samples = _mixed_content(150, 67, 1)
    path = tmp_path / "g.png"
    write_png16(path, samples)
    with Image.open(path) as img:
        assert img.mode == "I;16"
        np.testing.assert_array_equal(np.asarray(img), samples[:, :, 0])
    assert filter_types(path.read_bytes(), 2) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(("channels", "mode"), [(3, "RGB"), (4, "RGBA")])
def test_colour_high_bytes_match_pillow_decoder(tmp_path: Path, channels: int, mode: str) -> None:
    samples = _mixed_content(130, 41, channels)
    path = tmp_path / "c.png"
    write_png16(path, samples)
    with Image.open(path) as img:
        assert img.mode == mode  # Pillow keeps only the high byte of each sample
        np.testing.assert_array_equal(np.asarray(img), samples >> 8)


def test_icc_profile_and_exif_are_embedded(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    path = tmp_path / "m.png"
    write_png16(
        path, np.zeros((3, 3, 3), np.uint16), icc_profile=b"profile" * 30, exif=exif.tobytes()
    )
    with Image.open(path) as img:
        img.load()
        assert img.info["icc_profile"] == b"profile" * 30
        assert img.getexif()[0x010F] == "ACME"


def test_rejects_samples_that_do_not_fit_the_header(tmp_path: Path) -> None:
    with open(tmp_path / "x.png", "wb") as out:
        png = PngWriter(out, width=2, height=2, channels=3, bit_depth=16)
        with pytest.raises(ValueError, match="expected uint16"):
            png.write(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match=r"1\.\.4 channels"):
        write_png16(tmp_path / "x.png", np.zeros((2, 2, 5), np.uint16))
