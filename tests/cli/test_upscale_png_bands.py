"""`srlab upscale` writes PNG outputs at the model's own scale in bands of rows: the same
pixels and metadata as the whole image written at once, and outputs that a memory cap refused
when they had to be held whole."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from srlab.archs import ARCHITECTURES
from srlab.cli.main import main
from srlab.infer import budget
from srlab.infer.batch import Job, run_batch
from srlab.infer.memory import process_memory
from srlab.infer.sizing import OutputSize, SizedUpscaler
from srlab.infer.upscaler import Upscaler
from srlab.io import from_array, probe_image, read_image, to_array, write_image
from srlab.zoo import LoadedModel, load_model

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
TILED = ["--tile", "16", "--tile-overlap", "6"]


def _source(path: Path, mode: str, deep: bool, size: tuple[int, int] = (37, 29)) -> Path:
    """A noisy picture; 16-bit ones are written by srlab, 8-bit ones by Pillow with an sRGB
    profile (colour) and EXIF."""
    rng = np.random.default_rng(len(mode) + deep)
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    if deep:
        samples = rng.integers(0, 65536, (size[1], size[0], channels), dtype=np.uint16)
        exif = Image.Exif()
        exif[0x010F] = "ACME"
        icc = SRGB if channels >= 3 else None
        image = replace(from_array(samples), icc_profile=icc, exif=exif.tobytes())
        return write_image(path, image)
    samples = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x010F] = "ACME"
    extra = {"icc_profile": SRGB} if channels >= 3 else {}
    Image.fromarray(samples.squeeze(), mode).save(path, exif=exif, **extra)
    return path


def _refuse(name: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} was called")

    return refuse


@pytest.mark.parametrize(
    ("mode", "deep"),
    [("RGB", False), ("L", False), ("RGBA", False), ("LA", False), ("RGB", True), ("RGBA", True)],
)
def test_the_cli_writes_the_pixels_and_metadata_of_the_whole_image(tmp_path, monkeypatch, mode,
                                                                   deep):
    """Tiled in several rows of tiles, streamed into the PNG: the decoded pixels, bit depth,
    ICC profile and EXIF are those of upscaling the whole image and writing it at once (and,
    the encoder being the same, so are the bytes)."""
    src = _source(tmp_path / "in.png", mode, deep)
    image = read_image(src)
    upscaler = Upscaler(load_model("bicubic", scale=3), tile=16, tile_overlap=6)
    expected = read_image(write_image(tmp_path / "expected.png", upscaler.upscale(image)))
    monkeypatch.setattr(Upscaler, "upscale", _refuse("Upscaler.upscale"))  # bands only
    out = tmp_path / "out.png"
    assert main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--scale", "3",
                 "--quiet", *TILED]) == 0
    got = read_image(out)
    dtype = np.uint16 if deep else np.uint8
    np.testing.assert_array_equal(to_array(got, dtype), to_array(expected, dtype))
    assert (got.bit_depth, got.is_gray, got.has_alpha) == (image.bit_depth, image.is_gray,
                                                           image.has_alpha)
    assert got.icc_profile == expected.icc_profile == image.icc_profile
    assert got.exif == expected.exif and Image.open(out).getexif()[0x010F] == "ACME"
    assert out.read_bytes() == (tmp_path / "expected.png").read_bytes()


def _tiny_rrdbnet_x2() -> LoadedModel:
    """Real-ESRGAN's x2 RRDBNet, tiny and random: it unshuffles its input by 2, so its tile
    windows start on even pixels (size multiple 2)."""
    torch.manual_seed(3)
    options = {"scale": 2, "features": 8, "growth": 4, "blocks": 1}
    architecture = ARCHITECTURES["rrdbnet"]
    module = architecture.build(**options).eval()
    return LoadedModel("tiny", "rrdbnet", 2, module, architecture.spec_for(options), options)


def test_a_model_with_a_size_multiple_streams_the_whole_images_pixels(tmp_path, monkeypatch):
    src = _source(tmp_path / "in.png", "RGBA", False, size=(103, 157))
    upscaler = Upscaler(_tiny_rrdbnet_x2(), tile=64, tile_overlap=32)
    assert upscaler.model.spec.size_multiple == 2
    expected = write_image(tmp_path / "expected.png", upscaler.upscale(read_image(src)))
    monkeypatch.setattr(Upscaler, "upscale", _refuse("Upscaler.upscale"))
    report = run_batch([Job(src, tmp_path / "out.png")], upscaler, report=lambda line: None)
    assert report.written == [tmp_path / "out.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")),
                                  np.asarray(Image.open(expected)))


def test_an_exact_size_is_made_whole_then_written(tmp_path, monkeypatch):
    """A resize to an exact size needs the whole upscaled image: no bands."""
    src = _source(tmp_path / "in.png", "RGB", False)
    sized = SizedUpscaler("bicubic", size=OutputSize(width=50))
    expected = write_image(tmp_path / "expected.png", sized.upscale(read_image(src)))
    monkeypatch.setattr(Upscaler, "stream", _refuse("Upscaler.stream"))
    out = tmp_path / "out.png"
    assert main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--width", "50",
                 "--quiet"]) == 0
    assert out.read_bytes() == expected.read_bytes()


def test_a_png_refused_whole_under_a_memory_cap_is_now_written_in_bands(tmp_path, capsys):
    """1000 x 750 at x4 in tiles of 64: whole, the 4000 x 3000 output needs its float32
    accumulator and copies; in bands, about one row of tiles. A cap between the two writes the
    PNG and still refuses the TIFF, which must be made whole."""
    src = _source(tmp_path / "in.png", "RGB", False, size=(1000, 750))
    info = probe_image(src)
    upscaler = Upscaler(load_model("bicubic", scale=4), tile=64)
    size = (4000, 3000)
    banded = budget.estimate(info, upscaler, 64, size, ("PNG", 8)).peak
    whole = budget.estimate(info, upscaler, 64, size, ("TIFF", 8)).peak
    assert whole - banded > 120 << 20
    cap = str(process_memory() + (banded + whole) // 2)
    common = ["--model", "bicubic", "--scale", "4", "--tile", "64", "--max-memory", cap]
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.png"), *common]) == 0
    assert Image.open(tmp_path / "out.png").size == size
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.tif"), *common]) == 1
    error = next(line for line in capsys.readouterr().err.splitlines() if "error:" in line)
    assert "needs about" in error and "TIFF needs the whole image" in error
    assert not (tmp_path / "out.tif").exists()
