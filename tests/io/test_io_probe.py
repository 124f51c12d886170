"""probe_image: header facts without decoding, as read_image would return the image."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from srlab.io import ImageInfo, ImageReadError, from_array, probe_image, read_image, write_image

RNG = np.random.default_rng(5)


@pytest.mark.parametrize(
    ("name", "array", "channels", "depth"),
    [
        ("a.png", RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8), 3, 8),
        ("a.jpg", RNG.integers(0, 256, (30, 40), dtype=np.uint8), 1, 8),
        ("a.webp", RNG.integers(0, 256, (30, 40, 4), dtype=np.uint8), 4, 8),
        ("a.tif", RNG.integers(0, 65536, (30, 40, 3), dtype=np.uint16), 3, 16),
        ("a.bmp", RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8), 3, 8),
        ("g.png", RNG.integers(0, 65536, (30, 40, 2), dtype=np.uint16), 2, 16),
    ],
)
def test_probe_matches_what_read_returns(
    tmp_path: Path, name: str, array: np.ndarray, channels: int, depth: int
) -> None:
    path = write_image(tmp_path / name, from_array(array))
    info = probe_image(path)
    img = read_image(path)
    assert info == ImageInfo(40, 30, channels, depth, 1, img.format)
    assert (img.width, img.height, img.rgb.shape[2] + img.has_alpha) == (40, 30, channels)
    assert info.pixels == 1200
    assert info.decoded_bytes == img.rgb.nbytes + (0 if img.alpha is None else img.alpha.nbytes)


def test_palette_with_transparency_probes_as_rgba(tmp_path: Path) -> None:
    pal = Image.new("P", (5, 4))
    pal.putpalette([0, 0, 0, 255, 0, 0] * 128)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    assert probe_image(tmp_path / "p.png").channels == 4
    assert read_image(tmp_path / "p.png").has_alpha


def test_probe_reports_the_upright_size(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways
    Image.fromarray(np.zeros((20, 50, 3), np.uint8)).save(tmp_path / "r.jpg", exif=exif)
    info = probe_image(tmp_path / "r.jpg")
    assert (info.width, info.height) == (20, 50)
    assert read_image(tmp_path / "r.jpg").rgb.shape[:2] == (50, 20)


def test_probe_decodes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.png", "a.jpg", "a.tif"):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / name)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("probe_image decoded pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for name in ("a.png", "a.jpg", "a.tif"):
        assert probe_image(tmp_path / name).pixels == 64 * 64


def test_probe_applies_no_pixel_limit_and_read_does(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((100, 120), np.uint8)).save(tmp_path / "a.png")
    assert probe_image(tmp_path / "a.png").pixels == 12_000
    with pytest.raises(ImageReadError, match="more than the limit"):
        read_image(tmp_path / "a.png", max_pixels=10_000)


def test_probe_refuses_unsupported_pixel_formats_like_read(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.tif")
    for call in (probe_image, read_image):
        with pytest.raises(ImageReadError, match="unsupported pixel format F"):
            call(tmp_path / "f.tif")


def test_probe_of_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nothing\.png: file not found"):
        probe_image(tmp_path / "nothing.png")


# VmHWM: the process's peak resident memory (Linux), reset by exec unlike ru_maxrss.
_MEASURE_PEAK = """
import re, sys
from pathlib import Path
from srlab.io import probe_image, read_image

def peak():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status)[1]) * 1024

info = probe_image(sys.argv[1])
before = peak()
read_image(sys.argv[1])
print(peak() - before, info.decoded_bytes, info.read_peak_bytes)
"""


@pytest.mark.parametrize(
    ("name", "channels", "dtype"),
    [("la16.png", 2, np.uint16), ("rgba16.tif", 4, np.uint16), ("rgba.webp", 4, np.uint8)],
)
def test_read_peak_estimate_bounds_the_measured_peak(
    tmp_path: Path, name: str, channels: int, dtype: type
) -> None:
    """The layouts that cost read_image most memory relative to its result."""
    samples = RNG.integers(0, np.iinfo(dtype).max, (1000, 1500, channels), dtype=dtype)
    write_image(tmp_path / name, from_array(samples), quality=100)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_PEAK, str(tmp_path / name)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    measured, decoded, estimate = map(int, done.stdout.split())
    assert decoded < measured <= estimate
