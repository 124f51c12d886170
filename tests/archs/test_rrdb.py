"""RRDBNet is BasicSR's layer for layer: parameter counts, BasicSR's recorded outputs under
formula weights, the x2/x1 unshuffled input, layout detection, and tiles that agree."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from srlab.archs import ARCHITECTURES
from srlab.archs.rrdb import (
    RRDB,
    ResidualDenseBlock,
    RRDBNet,
    basicsr_keymap,
    esrgan_keymap,
    original_esrgan_keymap,
)
from tests.archs.authors_files import hash_formula_state


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def basicsr(shared_dir: Path) -> Path:
    return shared_dir / "data" / "basicsr-rrdbnet"


@pytest.fixture(scope="module")
def formula(basicsr: Path) -> dict[str, torch.Tensor]:
    gain = json.loads((basicsr / "cases.json").read_text())["gain"]
    return hash_formula_state(basicsr / "keys.txt", gain)


def test_parameter_counts_are_esrgans():
    assert count(ResidualDenseBlock(64, 32)) == 239_808
    assert count(RRDB(64, 32)) == 719_424
    assert count(RRDBNet()) == 16_697_987
    # x2 / x1: only the head grows (12 and 48 input channels)
    assert count(RRDBNet(scale=2)) == 16_697_987 + 9 * 9 * 64
    assert count(RRDBNet(scale=1)) == 16_697_987 + 45 * 9 * 64


@pytest.mark.parametrize("scale", [4, 2, 1])
def test_output_is_the_scale_and_x2_x1_need_multiples(scale: int):
    net = RRDBNet(scale=scale, features=8, growth=4, blocks=1)
    assert net(torch.rand(1, 3, 8, 12)).shape == (1, 3, 8 * scale, 12 * scale)
    spec = ARCHITECTURES["rrdbnet"].spec_for({"scale": scale})
    assert spec.size_multiple == {4: 1, 2: 2, 1: 4}[scale]
    assert spec.receptive_radius == ARCHITECTURES["rrdbnet"].spec.receptive_radius * (4 // scale)
    with pytest.raises(ValueError, match="x8"):
        RRDBNet(scale=8)


def _basicsr_pixel_unshuffle(x: torch.Tensor, s: int) -> torch.Tensor:
    """BasicSR's `pixel_unshuffle` (arch_util.py), written out: view, permute, reshape."""
    b, c, hh, hw = x.shape
    view = x.view(b, c, hh // s, s, hw // s, s)
    return view.permute(0, 1, 3, 5, 2, 4).reshape(b, c * s * s, hh // s, hw // s)


@pytest.mark.parametrize("scale", [2, 1])
def test_x2_and_x1_feed_basicsrs_unshuffled_input(scale: int):
    torch.manual_seed(0)
    net = RRDBNet(scale=scale, features=8, growth=4, blocks=1).eval()
    seen = []
    net.conv_first.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    x = torch.rand(1, 3, 8, 12)
    with torch.no_grad():
        net(x)
    assert torch.equal(seen[0], _basicsr_pixel_unshuffle(x, 4 // scale))


def _baboon_crop(path: Path) -> torch.Tensor:
    pixels = np.asarray(Image.open(path).convert("RGB")).copy()
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


def test_reproduces_basicsrs_rrdbnet(basicsr: Path, formula: dict[str, torch.Tensor]):
    net = RRDBNet().eval()
    net.load_state_dict(basicsr_keymap().import_state(formula))
    body = []
    net.conv_body.register_forward_hook(lambda m, i, o: body.append(o))
    with torch.no_grad():
        output = net(_baboon_crop(basicsr / "lr.png"))
    golden = load_file(basicsr / "outputs.safetensors")
    for name, ours in (("body", body[0]), ("output", output)):
        ref = golden[name]
        assert ours.shape == ref.shape
        assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max(), name


def test_formula_weights_match_the_fixtures_sums(basicsr: Path, formula: dict[str, torch.Tensor]):
    """The port of the weight formula is right tensor by tensor (so a failure above is ours)."""
    sums = json.loads((basicsr / "cases.json").read_text())["weight_sums"]
    assert set(sums) == set(formula)
    for name, total in sums.items():
        assert formula[name].double().sum().item() == pytest.approx(total, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("keymap", "layout"),
    [(basicsr_keymap, 0), (esrgan_keymap, 1), (original_esrgan_keymap, 2)],
)
@pytest.mark.parametrize("scale", [4, 2, 1])
def test_build_options_are_read_off_the_tensors(keymap, layout: int, scale: int):
    options = {"scale": scale, "features": 16, "growth": 8, "blocks": 3}
    theirs = keymap(**options)
    state = {theirs.ours_to_theirs[k]: v for k, v in RRDBNet(**options).state_dict().items()}
    layouts = ARCHITECTURES["rrdbnet"].foreign
    assert layouts[layout].recognise(state) == options
    others = [other.recognise(state) for k, other in enumerate(layouts) if k != layout]
    assert others == [None, None]


def test_esrgan_layout_is_renamed_as_its_converter_does():
    """xinntao/ESRGAN's transer_RRDB_models.py: model.1.sub.N.RDBk.convj.0 → RRDB_trunk.N...;
    model.1.sub.23 → trunk_conv, model.3/6/8/10 → upconv1/upconv2/HRconv/conv_last."""
    new = esrgan_keymap().ours_to_theirs
    old = original_esrgan_keymap().ours_to_theirs
    assert new["body.5.rdb2.conv3.weight"] == "RRDB_trunk.5.RDB2.conv3.weight"
    assert old["body.5.rdb2.conv3.weight"] == "model.1.sub.5.RDB2.conv3.0.weight"
    converted = {old[k]: new[k] for k in old}
    assert converted["model.1.sub.23.bias"] == "trunk_conv.bias"
    for index, name in ((0, "conv_first"), (3, "upconv1"), (6, "upconv2"), (8, "HRconv"),
                        (10, "conv_last")):
        assert converted[f"model.{index}.weight"] == f"{name}.weight"


def test_tiled_equals_untiled_within_a_level(shared_dir: Path):
    """Pure convolutions: tiles differ from the whole image only through what lies beyond
    their context (the trunk reaches farther than any overlap), here far below a level."""
    from dataclasses import replace

    from srlab.infer.upscaler import Upscaler
    from srlab.zoo import LoadedModel

    torch.manual_seed(0)
    net = RRDBNet(scale=4, features=16, growth=8, blocks=2).eval()
    spec = ARCHITECTURES["rrdbnet"].spec
    model = LoadedModel("rrdbnet", "rrdbnet", 4, net, spec)
    image = Image.open(shared_dir / "data/photos/dev/opencv_fruits.png").convert("RGB")
    lr = np.asarray(image)[:48, :64].astype(np.float32) / 255
    whole = Upscaler(model, tile=0, half=False).upscale_array(lr)
    tiled = Upscaler(model, tile=32, tile_overlap=16, half=False).upscale_array(lr)
    assert whole.shape == (192, 256, 3) and whole.std() > 0.01
    assert np.abs(whole - tiled).max() <= 1 / 255
    # without context the seams show: the overlap is what makes tiles agree
    blind = LoadedModel("rrdbnet", "rrdbnet", 4, net, replace(spec, receptive_radius=0))
    seams = Upscaler(blind, tile=32, tile_overlap=0, half=False).upscale_array(lr)
    assert np.abs(whole - seams).max() > 1 / 255
