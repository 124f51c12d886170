"""Memory estimates from the header: sizes, activations, the tile that fits, the refusal."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from srlab.archs import ModelSpec
from srlab.infer import budget, memory
from srlab.infer.budget import JobMemoryError, fit_tile
from srlab.infer.memory import (
    activation_cost,
    available_memory,
    default_memory_limit,
    format_size,
    measure_activations,
    parse_size,
    process_memory,
)
from srlab.infer.upscaler import Upscaler
from srlab.io import ImageInfo
from srlab.zoo import CATALOG, LoadedModel, load_model

GIB = 1 << 30


@pytest.mark.parametrize(
    ("text", "size"),
    [("4G", 4 * GIB), ("512M", 512 << 20), ("1.5g", 3 * GIB // 2), ("2GiB", 2 * GIB),
     ("64kb", 64 << 10), ("1T", 1 << 40), ("1000", 1000)],
)
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "4X", "-1G", "0", "0.1", "nan", "inf", "4 G B"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_sizes_print_readably():
    assert format_size(3 * GIB // 2) == "1.5 GiB"
    assert format_size(512 << 20) == "512.0 MiB"
    assert format_size(100) == "100 bytes"


def test_the_default_limit_is_what_we_hold_plus_most_of_what_is_free():
    held, free = process_memory(), available_memory()
    assert held > 10 << 20 and free is not None and free > 0
    limit = default_memory_limit()
    assert held < limit <= held + free + (64 << 20)  # memory moves a little between reads


class Allocator(nn.Module):
    """×2 nearest doubling that also holds a scratch tensor of `per_pixel` bytes per output
    pixel alongside its output: a network whose activation cost is known."""

    def __init__(self, per_pixel: int) -> None:
        super().__init__()
        self.floats = per_pixel // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
        scratch = torch.ones(self.floats, *y.shape[-2:])
        return y * scratch[:1]


def allocator_model(per_pixel: int = 4000) -> LoadedModel:
    return LoadedModel("alloc", "alloc", 2, Allocator(per_pixel), ModelSpec(scales=(2,)))


def test_activations_are_measured_from_the_tensors_a_model_holds():
    cost = measure_activations(allocator_model(4000), torch.device("cpu"))
    # The scratch (4000 B) plus the doubled input, its repeats and the product (~5 x 12 B).
    assert 4000 <= cost.per_pixel <= 4200
    assert cost.fixed < 100_000


def test_shipped_models_have_measured_costs(monkeypatch):
    """The catalogue's models never pay for a measurement at run time (G-MGBP's takes
    minutes on a CPU)."""

    def must_not_run(*args, **kwargs):
        raise AssertionError("measured at run time")

    monkeypatch.setattr(memory, "measure_activations", must_not_run)
    names = [(name, None) for name in CATALOG] + [("gmgbp-r3", s) for s in range(2, 17)]
    for name, scale in names:
        model = load_model(name, scale=scale)
        cost = activation_cost(model, torch.device("cpu"), torch.float32)
        assert cost.per_pixel > 10, (name, scale)


def info(width: int, height: int, channels: int = 3, bit_depth: int = 8) -> ImageInfo:
    return ImageInfo(width, height, channels, bit_depth, 1, "PNG")


def test_the_default_tile_is_kept_when_memory_allows_and_halved_when_not():
    """A JPEG output is made whole (only PNG is written in bands), so it needs the full-size
    accumulator whatever the tile."""
    upscaler = Upscaler(allocator_model(4000))
    assert upscaler.tile == 1024 and upscaler.min_tile == 32
    job = (Path("a.png"), info(2000, 1500), upscaler, (4000, 3000), ("JPEG", 8))
    assert fit_tile(*job, limit=1 << 40) == 1024
    held = process_memory()
    # 4000 B per output pixel, counted twice: tile 256 reads 288 x 288 LR pixels, 2.6 GB.
    tiles = [fit_tile(*job, limit=held + extra) for extra in (4 * GIB, 1.5 * GIB, 0.8 * GIB)]
    assert tiles == [256, 128, 64]
    limit = held + (300 << 20)
    with pytest.raises(JobMemoryError, match="needs about") as refused:
        fit_tile(*job, limit=limit)
    message = str(refused.value)
    assert f"--max-memory allows {format_size(limit)};" in message
    assert "\n" not in message and message.startswith("cannot upscale a.png: ")


def test_a_chosen_tile_is_never_shrunk():
    upscaler = Upscaler(allocator_model(4000), tile=512)
    job = (Path("a.png"), info(2000, 1500), upscaler, (4000, 3000), ("JPEG", 8))
    assert fit_tile(*job, limit=1 << 40) == 512
    with pytest.raises(JobMemoryError, match="tile 512"):
        fit_tile(*job, limit=process_memory() + 2 * GIB)


def test_a_bomb_is_refused_without_running_the_model(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("the model ran")

    monkeypatch.setattr(budget, "activation_cost", must_not_run)
    upscaler = Upscaler(load_model("bicubic", scale=4))
    bomb = info(10_000, 10_000, channels=1)
    with pytest.raises(JobMemoryError) as refused:
        fit_tile(Path("bomb.png"), bomb, upscaler, (40_000, 40_000), ("TIFF", 8), 4 * GIB)
    message = str(refused.value)
    needed = float(message.split("needs about ")[1].split(" GiB")[0])
    assert needed > 19  # the float32 accumulator alone: 40000 x 40000 x 3 x 4 bytes = 17.9 GiB
    assert "40000x40000 gray from 10000x10000" in message and "allows 4.0 GiB" in message


_MEASURE_JOB = """
import json, sys
import numpy as np
from pathlib import Path
from srlab.infer.batch import Job, run_batch
from srlab.infer.budget import estimate
from srlab.infer.sizing import OutputSize, SizedUpscaler
from srlab.io import probe_image

source, target, model, scale = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
sized = SizedUpscaler(model, size=OutputSize(scale=float(scale)))
info = probe_image(source)
upscaler, width, height = sized.plan(info.width, info.height)
need = estimate(info, upscaler, upscaler.tile, (width, height), ("PNG", info.bit_depth))

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

open("/proc/self/clear_refs", "w").write("5")  # the peak restarts from here
before = status("VmRSS:")
report = run_batch([Job(source, target)], sized, report=print, max_memory=None)
assert report.written, report.failed
print(json.dumps({"used": status("VmHWM:") - before, "estimate": need.peak}))
"""


@pytest.mark.parametrize(
    ("model", "scale", "mode", "side"),
    [("bicubic", "4", "RGB", 400), ("bicubic", "2.5", "RGBA", 400),
     ("srrescgan-real-x4", "4", "L", 96), ("gmgbp-r3", "4", "RGB", 64),
     ("bicubic", "4", "RGBA", 1200)],  # two rows of 512-pixel tiles: the PNG's band slides
)
def test_the_estimate_bounds_the_measured_peak(tmp_path, model, scale, mode, side):
    """Run a real job in a fresh process and compare its peak resident memory with the
    estimate: the estimate must cover it without being wildly above."""
    rng = np.random.default_rng(0)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = (rng.random((side * 3 // 4, side, channels)) * 255).astype(np.uint8)
    source = tmp_path / "in.png"
    Image.fromarray(pixels.squeeze(), mode).save(source)
    script = textwrap.dedent(_MEASURE_JOB)
    result = subprocess.run(
        [sys.executable, "-c", script, str(source), str(tmp_path / "out.png"), model, scale],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["used"] <= figures["estimate"] <= 8 * figures["used"] + (128 << 20), figures


def test_a_png_at_the_model_scale_counts_a_band_not_the_whole_output():
    """Written in bands, a PNG needs about one row of tiles' output where a JPEG, a TIFF or a
    resized PNG needs the whole output several times over; the band grows with the tile."""
    upscaler = Upscaler(allocator_model(400))
    photo = info(4000, 3000, channels=4)
    native, resized = (8000, 6000), (7999, 5999)

    def estimate(tile: int, size: tuple[int, int], output: tuple[str, int]):
        return budget.estimate(photo, upscaler, tile, size, output)

    banded = estimate(64, native, ("PNG", 16))
    whole_output = 8000 * 6000 * 4 * 4  # float32 RGBA: what the whole-image paths hold at least
    assert banded.write == 0 and banded.upscale < whole_output / 2
    assert banded.peak == banded.read + memory.SLACK  # decoding the input is now the largest
    for other in [estimate(64, native, ("TIFF", 16)), estimate(64, resized, ("PNG", 16))]:
        assert other.peak > whole_output
    smaller, larger = estimate(32, native, ("PNG", 16)), estimate(128, native, ("PNG", 16))
    assert smaller.upscale < banded.upscale < larger.upscale
    assert memory.written_in_bands("PNG", native, native)
    assert not memory.written_in_bands("PNG", resized, native)
    assert not memory.written_in_bands("JPEG", native, native)


def test_a_png_too_large_even_in_bands_is_refused_saying_so():
    upscaler = Upscaler(load_model("bicubic", scale=16))
    bomb = info(10_000, 10_000, channels=1)
    job = (Path("bomb.png"), bomb, upscaler, (160_000, 160_000))
    with pytest.raises(JobMemoryError) as refused:
        fit_tile(*job, ("PNG", 8), 2 * GIB)
    assert str(refused.value).endswith("(this PNG is already written in bands of rows)")
    with pytest.raises(JobMemoryError) as refused:
        fit_tile(*job[:3], (159_999, 159_999), ("PNG", 8), 2 * GIB)
    assert "only at the model's own scale, not resized" in str(refused.value)
