"""BSR: parameter and convolution counts of the default build, shapes, the declared receptive
radius (measured by gradients), a short overfit, tiled-equals-untiled inference and the shipped
configs."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from srlab.archs import ARCHITECTURES
from srlab.archs.blocks import MeanShift
from srlab.archs.bsr import EFFECTIVE_RADIUS, Fusion, SpatialAttention, full_reach
from srlab.infer.upscaler import Upscaler
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel
from tests.train.test_engine_runs import ROOT, TWO_ITERATIONS, train_shrunk

BSR = ARCHITECTURES["bsr"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny-width BSR is ~190 small convolutions in a row: one thread runs them fastest, while
    several threads on a busy CPU spin and wait on every one of them (tenfold slower here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trained_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def convolutions(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize(
    ("scale", "expected", "convs"),
    [(2, 6_503_905, 186), (3, 6_688_545, 186), (4, 6_651_617, 187)],
)
def test_default_build_counts(scale, expected, convs):
    net = BSR.build(scale=scale)
    assert trained_parameters(net) == expected  # the frozen mean shifts excluded
    assert sum(p.numel() for p in net.parameters()) == expected + 24
    mean_shifts = [m for m in convolutions(net) if isinstance(m, MeanShift)]
    assert len(mean_shifts) == 2
    assert len(convolutions(net)) - len(mean_shifts) == convs
    assert len(convolutions(net)) < 200  # the slides' claim, even counting the mean shifts


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shapes(scale):
    net = BSR.build(scale=scale, features=8, groups=2, blocks=2)
    assert net(torch.rand(2, 3, 11, 7)).shape == (2, 3, 11 * scale, 7 * scale)


def test_unsupported_scale_is_refused():
    with pytest.raises(ValueError, match="x8"):
        BSR.build(scale=8)


def test_attention_map_is_a_weight_per_pixel_in_0_1():
    torch.manual_seed(0)
    attention = SpatialAttention()
    features = 100 * torch.randn(2, 8, 9, 13)  # large values push the sigmoid to its ends
    weights = attention.weights(features)
    assert weights.shape == (2, 1, 9, 13)
    assert weights.min() >= 0 and weights.max() <= 1
    assert torch.allclose(attention(features), features * weights)


def test_fusion_part_by_part_equals_the_convolution_of_the_concatenation():
    torch.manual_seed(0)
    fusion = Fusion(parts=3, features=5).double()
    maps = [torch.randn(2, 5, 6, 7, dtype=torch.float64) for _ in range(3)]
    summed = fusion.start()
    for index, features in enumerate(maps):
        summed = summed + fusion.part(index, features)
    assert torch.allclose(summed, fusion(torch.cat(maps, dim=1)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("groups", "blocks"), [(1, 1), (2, 1), (1, 2)])
def test_full_reach_is_the_gradients_reach(scale, groups, blocks):
    """The gradient of every output pixel of one LR pixel's s×s block is nonzero exactly as far
    as `full_reach` around that LR pixel (on an input large enough to hide borders); builds
    this shallow declare it as their receptive radius."""
    torch.manual_seed(0)
    options = {"scale": scale, "groups": groups, "blocks": blocks}
    net = BSR.build(features=4, **options).double()
    radius = full_reach(groups, blocks)
    assert BSR.spec_for(options).receptive_radius == radius < EFFECTIVE_RADIUS
    size = 2 * radius + 9
    centre = size // 2
    reach = 0
    for dy in range(scale):
        for dx in range(scale):
            x = torch.rand(1, 3, size, size, dtype=torch.float64, requires_grad=True)
            net(x)[0, :, centre * scale + dy, centre * scale + dx].sum().backward()
            rows_cols = (x.grad[0].abs().sum(0) > 0).nonzero()
            reach = max(reach, int((rows_cols - centre).abs().max()))
    assert reach == radius


def test_default_build_declares_the_effective_radius():
    assert full_reach() == 195
    assert BSR.spec.receptive_radius == EFFECTIVE_RADIUS == 48
    assert BSR.spec_for({"scale": 3, "features": 4}).receptive_radius == EFFECTIVE_RADIUS
    assert BSR.spec.scales == (2, 3, 4)


def test_tiny_width_overfits_one_patch():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    hr = nn.functional.interpolate(
        torch.rand(1, 3, 8, 8, generator=g), size=(32, 32), mode="bicubic", align_corners=False
    ).clamp(0, 1)
    lr = imresize(hr[0], scale=0.5)[None].clamp(0, 1)
    net = BSR.build(scale=2, features=8)  # full depth: 10 groups of 8 blocks
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = (net(lr) - hr).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 4


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = imresize(rng.random((h // 4 + 2, w // 4 + 2, 3)), size=(h, w))
    return np.clip(smooth + 0.05 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tiny_width_tiled_equals_untiled(scale):
    """Full depth (reach 195): with twice the reach as overlap every blended output pixel reads
    all it can depend on, so tiles agree to float precision; with the declared radius they
    agree within 1/255."""
    torch.manual_seed(0)
    options = {"scale": scale, "features": 4}
    spec = BSR.spec_for(options)
    model = LoadedModel("bsr", "bsr", scale, BSR.build(**options), spec)
    reach = full_reach()
    lr = photo(4 * reach + 20, 12)  # 2 tiles of 4 x reach down, 5 of 4 x radius; 1 across
    whole = Upscaler(model, tile=0).upscale_array(lr)
    assert whole.std() > 0.02 and 0 < whole.mean() < 1  # a varied picture, not clipped flat
    exact = Upscaler(model, tile=4 * reach, tile_overlap=2 * reach).upscale_array(lr)
    assert np.abs(exact - whole).max() < 1e-5
    radius = spec.receptive_radius
    tiled = Upscaler(model, tile=4 * radius, tile_overlap=radius).upscale_array(lr)
    assert np.abs(tiled - whole).max() < 1 / 255


CONFIGS = {("BI", 2): "bsr-bi-x2", ("BI", 3): "bsr-bi-x3", ("BI", 4): "bsr-bi-x4",
           ("BD", 3): "bsr-bd-x3"}


def test_configs_differ_only_in_name_scale_and_degradation():
    """So that the one shrunk run below covers the wiring of all four."""
    seen = []
    for (degradation, scale), name in CONFIGS.items():
        config = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
        assert (config["name"], config["scale"]) == (name, scale)
        assert config["data"]["train"]["degradation"] == degradation
        assert config["data"]["val"]["degradation"] == degradation
        assert config["networks"]["g"]["arch"] == "bsr"
        for key in ("name", "scale"):
            del config[key]
        del config["data"]["train"]["degradation"], config["data"]["val"]["degradation"]
        seen.append(config)
    assert all(config == seen[0] for config in seen)
    assert seen[0]["recipe"]["losses"] == [
        {"kind": "mixed_norm", "options": {"alpha": 1.0, "beta": 1.0, "p": 1.5}}
    ]


def test_bd_x3_config_trains_two_iterations(shared_dir, tmp_path: Path):
    run_dir = tmp_path / "bsr"
    overrides = [
        *TWO_ITERATIONS, "data.train.patch_size=12",
        "networks.g.options={features: 8, groups: 2, blocks: 2}",
    ]
    train_shrunk("configs/bsr-bd-x3.yaml", run_dir, overrides)
    logged = (run_dir / "metrics.csv").read_text()
    assert "train/mixed_norm" in logged and "val/psnr_y" in logged
    assert (run_dir / "model.safetensors").is_file()
