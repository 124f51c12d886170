"""Whole-image upscaling: tiled equals untiled, memory bounded by the tile, gray and alpha."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from srlab.archs import ARCHITECTURES, Architecture, ModelSpec
from srlab.infer import upscaler as upscaler_module
from srlab.infer.tiling import plan_tiles
from srlab.infer.upscaler import TileMemoryError, Upscaler, upscale_alpha, upscale_alpha_rows
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel, load_model


class LocalNet(nn.Module):
    """A random pure-convolution x2 network whose receptive radius is 3 LR pixels."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1),
        )
        self.tail = nn.Sequential(nn.PixelShuffle(2), nn.Conv2d(3, 3, 3, padding=1))
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape[-2:]))
        return torch.sigmoid(self.tail(self.body(x)))


def local_model() -> LoadedModel:
    return LoadedModel("local", "local", 2, LocalNet(), ModelSpec(scales=(2,), receptive_radius=3))


def photo(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.random((h // 4 + 2, w // 4 + 2, c))
    up = imresize(smooth, size=(h, w))
    return np.clip(up + 0.05 * rng.standard_normal((h, w, c)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("tile", "overlap"), [(16, 8), (24, 4), (40, 16)])
def test_bicubic_tiled_equals_untiled(scale, tile, overlap):
    lr = photo(45, 61)
    model = load_model("bicubic", scale=scale)
    whole = Upscaler(model, tile=0).upscale_array(lr)
    tiled = Upscaler(model, tile=tile, tile_overlap=overlap).upscale_array(lr)
    assert whole.shape == (45 * scale, 61 * scale, 3)
    assert np.abs(tiled - whole).max() < 1e-5  # far inside the 1/255 promise


def test_bicubic_model_matches_imresize():
    lr = photo(30, 20)
    out = Upscaler(load_model("bicubic", scale=4), tile=0).upscale_array(lr)
    ref = np.clip(imresize(lr, 4), 0, 1)
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_network_tiled_equals_untiled_and_calls_stay_tile_sized():
    lr = photo(50, 70)
    model = local_model()
    whole = Upscaler(model, tile=0).upscale_array(lr)
    model.module.calls.clear()
    tiled = Upscaler(model, tile=16, tile_overlap=8).upscale_array(lr)
    assert np.abs(tiled - whole).max() < 1e-5
    # Memory is bounded by the tile: no call sees more than tile + 2 * overlap pixels a side.
    assert model.module.calls and max(max(c) for c in model.module.calls) <= 16 + 2 * 8


def test_self_ensemble_of_bicubic_is_bicubic():
    """MATLAB bicubic is symmetric under flips and transposition, so its ensemble is itself."""
    lr = photo(21, 34)
    model = load_model("bicubic", scale=2)
    plain = Upscaler(model, tile=0).upscale_array(lr)
    ensembled = Upscaler(model, tile=16, tile_overlap=6, ensemble=True).upscale_array(lr)
    assert np.abs(plain - ensembled).max() < 1e-5


def test_self_ensemble_changes_an_asymmetric_network():
    lr = photo(20, 24)
    model = local_model()
    plain = Upscaler(model, tile=0).upscale_array(lr)
    ensembled = Upscaler(model, tile=0, ensemble=True).upscale_array(lr)
    assert np.abs(plain - ensembled).max() > 1e-3


def test_gray_stays_gray_and_alpha_is_upscaled_separately():
    rgb = photo(24, 18, c=1)
    alpha = np.linspace(0, 1, 24 * 18, dtype=np.float32).reshape(24, 18)
    image = DecodedImage(rgb=rgb, alpha=alpha, bit_depth=16, format="PNG", path=None)
    out = Upscaler(local_model(), tile=0).upscale(image)
    assert out.rgb.shape == (48, 36, 1)
    assert out.bit_depth == 16 and out.alpha is not None
    np.testing.assert_allclose(out.alpha, np.clip(imresize(alpha, 2), 0, 1), atol=1e-6)


def test_bf16_half_precision_runs_close_to_float32(monkeypatch):
    # --half takes bfloat16 only on CPUs with native support; pretend this one has it so that
    # the bf16 path runs everywhere (emulated bf16 gives the same numbers, only slower)
    monkeypatch.setattr("srlab.infer.precision.cpu_supports_bf16", lambda: True)
    lr = photo(32, 32)
    model = local_model()
    full = Upscaler(model, tile=0).upscale_array(lr)
    half = Upscaler(local_model(), tile=0, half=True)
    assert half.dtype == torch.bfloat16
    assert np.abs(half.upscale_array(lr) - full).max() < 0.05


def test_noise_is_refused_for_models_without_a_noise_input():
    with pytest.raises(ValueError, match="no noise input"):
        Upscaler(load_model("bicubic"), noise=0.5)


def test_registry_is_read_only_and_custom_registries_are_passed_explicitly():
    with pytest.raises(TypeError):
        ARCHITECTURES["x"] = Architecture("x", LocalNet, ModelSpec(), "")  # type: ignore[index]


class LinearStack(nn.Module):
    """`depth` random linear 3×3 convolutions, then a ×2 pixel shuffle: each output pixel
    depends on the LR pixels up to exactly `depth` away, and strongly on far ones too."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        convs = []
        for i in range(depth):
            c_in, c_out = (3 if i == 0 else 8), (12 if i == depth - 1 else 8)
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) / (9 * c_in) ** 0.5)
            convs.append(conv)
        self.body = nn.Sequential(*convs, nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def stack_model(radius: int) -> LoadedModel:
    """Ten convolutions (they see 10 LR pixels each way) declaring `radius`."""
    return LoadedModel("stack", "stack", 2, LinearStack(10), ModelSpec(receptive_radius=radius))


def test_tiles_overlap_by_at_least_the_declared_receptive_radius():
    """The cross-fade uses the inner half of the overlap, so a network that sees 10 pixels each
    way needs an overlap of 20: declared, it is used although the caller asked for 4."""
    lr = photo(70, 90)
    whole = Upscaler(stack_model(20), tile=0).upscale_array(lr)
    upscaler = Upscaler(stack_model(20), tile=48, tile_overlap=4)
    assert (upscaler.tile, upscaler.overlap) == (48, 20)
    assert np.abs(upscaler.upscale_array(lr) - whole).max() < 1e-5
    # The check can fail: with less overlap than the network needs, seams show.
    for radius in (4, 10):
        seams = Upscaler(stack_model(radius), tile=48, tile_overlap=4).upscale_array(lr)
        assert np.abs(seams - whole).max() > 1e-2


def test_a_default_tile_grows_to_fit_the_overlap_and_a_chosen_one_is_refused():
    spec = ModelSpec(receptive_radius=40, tile_budget=64)  # default tile: max(32, 64 // 2)
    model = LoadedModel("wide", "wide", 2, LinearStack(2), spec)
    assert (Upscaler(model).tile, Upscaler(model).overlap) == (80, 40)
    assert (Upscaler(model, tile=0).tile, Upscaler(model, tile=0).overlap) == (0, 0)
    with pytest.raises(ValueError, match=r"tile 64 is too small .* at least 80$"):
        Upscaler(model, tile=64)


def test_default_overlap_is_kept_where_it_covers_the_radius():
    """The shipped models declare at most the default overlap (EDSR aside), so their tiling and
    hence their outputs are what they were before the radius was read."""
    for name in ("gmgbp-r3", "srrescgan-real-x4", "fast-srfbn-srlab-x16", "bicubic"):
        model = load_model(name)
        upscaler = Upscaler(model)
        assert upscaler.overlap == 16
        assert upscaler.tile == model.spec.default_tile(model.scale)


class Picky(nn.Module):
    """A ×2 network (nearest doubling plus a 3×3 blur) that fails to allocate on inputs with a
    side above `limit`, raising `error`, like a device or allocator running out of memory."""

    def __init__(self, limit: int, error: Exception) -> None:
        super().__init__()
        self.limit = limit
        self.error = error
        self.blur = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        with torch.no_grad():
            self.blur.weight.copy_(torch.full_like(self.blur.weight, 1 / 27))
        self.sides: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sides.append(max(x.shape[-2:]))
        if max(x.shape[-2:]) > self.limit:
            raise self.error
        return self.blur(x).repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def picky_model(limit: int, error: Exception) -> LoadedModel:
    spec = ModelSpec(scales=(2,), receptive_radius=4)
    return LoadedModel("picky", "picky", 2, Picky(limit, error), spec)


@pytest.mark.parametrize(
    "error",
    [MemoryError(), RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried..."),
     torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")],
)
def test_running_out_of_memory_halves_the_tile_and_retries(error):
    lr = photo(90, 70)
    whole = Upscaler(picky_model(10_000, error), tile=0).upscale_array(lr)
    model = picky_model(60, error)
    retries = []
    tiled = Upscaler(model, tile=80, tile_overlap=8).upscale_array(
        lr, on_retry=lambda old, new: retries.append((old, new))
    )
    assert retries == [(80, 40)]  # a 70-pixel window failed, 40 + 2 x 8 fits
    assert np.abs(tiled - whole).max() < 1e-5
    sides = model.module.sides
    assert sides[0] == 70 and max(sides[1:]) <= 60


def test_the_whole_image_is_retried_in_tiles_down_to_the_floor():
    lr = photo(90, 70)
    model = picky_model(70, MemoryError())
    retries = []
    out = Upscaler(model, tile=0).upscale_array(lr, on_retry=lambda *t: retries.append(t))
    assert out.shape == (180, 140, 3)
    assert retries == [(0, 45)]  # half the longer side, with the default overlap of 16
    # The floor is twice the overlap: a model that cannot run a 32-pixel tile fails in one line.
    with pytest.raises(TileMemoryError, match=r"even with tiles of 32 pixels .* smallest tile"):
        Upscaler(picky_model(20, MemoryError()), tile=64).upscale_array(lr)


def test_other_errors_are_not_retried():
    model = picky_model(10, RuntimeError("Given groups=1, weight of size [3, 3, 3, 3]"))
    with pytest.raises(RuntimeError, match="weight of size"):
        Upscaler(model, tile=64).upscale_array(photo(70, 70))
    assert len(model.module.sides) == 1


def tiny_rrdbnet_x2() -> LoadedModel:
    """A one-block, eight-feature Real-ESRGAN x2-style RRDBNet with random weights: it
    pixel-unshuffles its input by 2, so its windows must start on even pixels."""
    torch.manual_seed(3)
    options = {"scale": 2, "features": 8, "growth": 4, "blocks": 1}
    architecture = ARCHITECTURES["rrdbnet"]
    module = architecture.build(**options).eval()
    return LoadedModel("tiny", "rrdbnet", 2, module, architecture.spec_for(options), options)


def test_tiles_of_unshuffling_networks_start_on_their_size_multiple():
    model = tiny_rrdbnet_x2()
    assert model.spec.size_multiple == 2
    lr = photo(157, 203)  # odd sides: the whole image is padded at its bottom and right edges
    whole = Upscaler(model, tile=0).upscale_array(lr)
    tiled = Upscaler(model, tile=100, tile_overlap=45).upscale_array(lr)
    assert tiled.shape == whole.shape == (314, 406, 3)
    assert np.abs(tiled - whole).max() < 1e-4


def test_unaligned_windows_would_shift_the_unshuffle_grid(monkeypatch):
    """The check above can fail: windows starting on odd pixels give different tiles."""
    model = tiny_rrdbnet_x2()
    lr = photo(157, 203)
    whole = Upscaler(model, tile=0).upscale_array(lr)
    monkeypatch.setattr(upscaler_module, "plan_tiles", lambda *args: plan_tiles(*args[:5]))
    unaligned = Upscaler(model, tile=100, tile_overlap=45).upscale_array(lr)
    assert np.abs(unaligned - whole).max() > 0.01


# --- streaming: finished rows handed out in bands as each row of tiles completes ------------


def _copies(bands) -> list[DecodedImage]:
    """A `write` for `Upscaler.stream` that keeps copies (a band's memory is reused)."""
    return [replace(b, rgb=b.rgb.copy(), alpha=None if b.alpha is None else b.alpha.copy())
            for b in bands]


STREAM_CASES = {
    # name: (model, tile, overlap, LR shape)
    "bicubic x3, RGBA": (lambda: load_model("bicubic", scale=3), 16, 6, (45, 61, 3)),
    "bicubic x4, gray + alpha": (lambda: load_model("bicubic", scale=4), 20, 8, (70, 33, 1)),
    "network x2": (local_model, 16, 8, (50, 70, 3)),
    "unshuffling x2, multiple 2": (tiny_rrdbnet_x2, 100, 45, (157, 203, 3)),
    "rows sharing their window start": (lambda: load_model("bicubic", scale=2), 64, 32,
                                        (65, 30, 3)),
    "whole image": (lambda: load_model("bicubic", scale=2), 0, 16, (23, 17, 3)),
}


@pytest.mark.parametrize("case", list(STREAM_CASES))
def test_streamed_bands_are_the_whole_image_bit_for_bit(case):
    make_model, tile, overlap, shape = STREAM_CASES[case]
    rng = np.random.default_rng(2)
    rgb = photo(shape[0], shape[1], c=shape[2])
    alpha = rng.random(shape[:2], dtype=np.float32) if case != "network x2" else None
    image = DecodedImage(rgb, alpha, 16, "PNG", None, icc_profile=b"icc", exif=b"Exif\0\0x")
    upscaler = Upscaler(make_model(), tile=tile, tile_overlap=overlap)
    whole = upscaler.upscale(image)
    bands = upscaler.stream(image, _copies)
    np.testing.assert_array_equal(np.concatenate([b.rgb for b in bands]), whole.rgb)
    if alpha is not None:
        np.testing.assert_array_equal(np.concatenate([b.alpha for b in bands]), whole.alpha)
    assert all(
        (b.bit_depth, b.icc_profile, b.exif, b.width) == (16, b"icc", b"Exif\0\0x", whole.width)
        for b in bands
    )
    # Memory: a band is at most one row of tiles' output window high.
    s, context = upscaler.scale, upscaler.context
    window = tile + 2 * context + upscaler.model.spec.size_multiple - 1 if tile else shape[0]
    assert max(b.height for b in bands) <= window * s
    assert len(bands) > 1 or not tile or case == "rows sharing their window start"


@pytest.mark.parametrize("scale", [2, 3, 4, 16])
def test_alpha_of_a_band_is_the_whole_alpha_bit_for_bit(scale):
    alpha = np.random.default_rng(scale).random((29, 13), dtype=np.float32)
    whole = upscale_alpha(alpha, scale)
    height = 29 * scale
    cuts = [(0, 1), (0, height), (5, 6 * scale + 1), (height - 3, height), (2 * scale, 9 * scale)]
    for top, stop in cuts:
        np.testing.assert_array_equal(upscale_alpha_rows(alpha, scale, top, stop), whole[top:stop])


class RunsOutLater(Picky):
    """Picky, but only from its third call on: the first row of tiles is already finished
    (and handed out) when it runs out of memory."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.sides) < 2:
            self.sides.append(max(x.shape[-2:]))
            return self.blur(x).repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
        return super().forward(x)


def test_running_out_of_memory_while_streaming_restarts_the_write_at_half_the_tile():
    lr = photo(90, 70)
    image = DecodedImage(lr, None, 8, "PNG", None)
    whole = Upscaler(picky_model(10_000, MemoryError()), tile=0).upscale(image)
    spec = ModelSpec(scales=(2,), receptive_radius=4)
    model = LoadedModel("later", "later", 2, RunsOutLater(40, MemoryError()), spec)
    attempts: list[list[DecodedImage]] = []
    ended: list[str] = []

    def write(bands) -> list[DecodedImage]:
        attempts.append([])
        try:
            for band in bands:
                attempts[-1].append(replace(band, rgb=band.rgb.copy()))
        except Exception as err:
            ended.append(type(err).__name__)  # what a file writer would see before cleaning up
            raise
        ended.append("finished")
        return attempts[-1]

    retries = []
    result = Upscaler(model, tile=40, tile_overlap=8).stream(
        image, write, on_retry=lambda old, new: retries.append((old, new))
    )
    assert retries == [(40, 20)]
    assert len(attempts) == 2 and len(attempts[0]) == 1  # a band had been handed out
    assert ended == ["_ModelOutOfMemory", "finished"]
    assert np.abs(np.concatenate([b.rgb for b in result]) - whole.rgb).max() < 1e-5
