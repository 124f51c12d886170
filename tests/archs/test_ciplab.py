"""CIPLAB's generator and U-Net discriminator are the authors' layer for layer: formula weights
through the key maps reproduce their recorded trunks, image, logits and all twelve features."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from srlab.archs import ARCHITECTURES
from srlab.archs.ciplab import CIPLABGenerator, authors_keymap
from srlab.archs.ciplab_discriminator import UNetDiscriminator, authors_name
from srlab.archs.keymap import KeyMap
from tests.archs.authors_files import hash_formula_state, listed_shapes

FEATURES = [f"e{k}" for k in range(1, 7)] + [f"d{k}" for k in range(1, 7)]


@pytest.fixture(scope="module")
def authors(shared_dir: Path) -> Path:
    return shared_dir / "data" / "ciplab-authors"


def _image(path: Path) -> torch.Tensor:
    pixels = np.asarray(Image.open(path).convert("RGB")).copy()
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


def _gain(authors: Path, network: str) -> float:
    return json.loads((authors / "cases.json").read_text())["cases"][network]["gain"]


def _close(ours: torch.Tensor, ref: torch.Tensor, name: str) -> None:
    assert ours.shape == ref.shape, name
    assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max(), name


def test_generator_parameters_are_two_esrgan_trunks():
    net = CIPLABGenerator()
    rrdbs = sum(p.numel() for p in net.body1.parameters())
    assert rrdbs == 23 * 719_424
    assert sum(p.numel() for p in net.parameters()) == 33_392_451
    assert 2 * rrdbs + 8 * 36_928 + 1_792 + 1_731 == 33_392_451


def test_generator_is_x16_only():
    net = CIPLABGenerator(features=8, growth=4, blocks=1)
    assert net(torch.rand(1, 3, 3, 5)).shape == (1, 3, 48, 80)
    with pytest.raises(ValueError, match="x16"):
        CIPLABGenerator(scale=4)


def test_reproduces_the_authors_generator(authors: Path):
    net = CIPLABGenerator().eval()
    state = hash_formula_state(authors / "generator_keys.txt", _gain(authors, "generator"))
    net.load_state_dict(authors_keymap().import_state(state))
    trunks = []
    for conv in (net.conv_body1, net.conv_body2):
        conv.register_forward_hook(lambda m, i, o: trunks.append(o))
    with torch.no_grad():
        output = net(_image(authors / "lr.png"))
    golden = load_file(authors / "generator_outputs.safetensors")
    _close(trunks[0], golden["trunk1"], "trunk1")
    _close(trunks[1], golden["trunk2"], "trunk2")
    _close(output, golden["output"], "output")


def test_authors_layout_is_recognised_with_its_build_options():
    small = {"features": 16, "growth": 8, "blocks": 2}
    keymap = authors_keymap(**small)
    state = {keymap.ours_to_theirs[k]: v
             for k, v in CIPLABGenerator(**small).state_dict().items()}
    (layout,) = ARCHITECTURES["ciplab"].foreign
    assert layout.recognise(state) == small
    # its first half is ESRGAN's x4 RRDBNet by name, but not an RRDBNet
    assert all(other.recognise(state) is None for other in ARCHITECTURES["rrdbnet"].foreign)


def test_discriminator_builds_only_the_used_layers(authors: Path):
    listed = (authors / "discriminator_keys.txt").read_text().splitlines()
    unused = {line.split(" ", 1)[0] for line in listed if "unused by the forward pass" in line}
    shapes = listed_shapes(authors / "discriminator_keys.txt")
    parameters = {k: int(np.prod(s)) for k, s in shapes.items() if k.endswith(("weight", "bias"))}
    d = UNetDiscriminator()
    params = sum(p.numel() for p in d.parameters())
    assert params == 6_681_538
    assert sum(parameters.values()) == 12_823_810  # the factsheet's "13 M"
    assert params + sum(n for k, n in parameters.items() if k in unused) == 12_823_810
    assert {authors_name(k) for k in d.state_dict()} == set(shapes) - unused


def test_discriminator_initialisation_is_kaiming_normal_with_zero_biases():
    torch.manual_seed(0)
    d = UNetDiscriminator()
    conv = d.decoder[1].conv  # 640 → 256, fan-in 5760
    assert conv.weight.std().item() == pytest.approx((2 / 5760) ** 0.5, rel=0.02)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 14 and all(torch.count_nonzero(c.bias) == 0 for c in convs)


def test_reproduces_the_authors_discriminator(authors: Path):
    d = UNetDiscriminator().eval()
    keymap = KeyMap.from_module("CIPLAB UnetD", d, authors_name)
    state = hash_formula_state(authors / "discriminator_keys.txt", _gain(authors, "discriminator"))
    d.load_state_dict(keymap.import_state(state))
    with torch.no_grad():
        judged = d(_image(authors / "hr128.png"))
    golden = load_file(authors / "discriminator_outputs.safetensors")
    _close(judged.global_logits, golden["enc_logits"], "enc_logits")
    _close(judged.pixel_logits, golden["dec_logits"], "dec_logits")
    assert len(judged.features) == 12
    for name, ours in zip(FEATURES, judged.features, strict=True):
        _close(ours, golden[name], name)


def test_discriminator_shapes():
    d = UNetDiscriminator().eval()
    with torch.no_grad():
        judged = d(torch.rand(2, 3, 64, 128))
    assert judged.global_logits.shape == (2, 1, 1, 2)
    assert judged.pixel_logits.shape == (2, 1, 64, 128)
    sides = [64, 32, 16, 8, 4, 2, 4, 8, 16, 32, 64, 128]
    widths = [64, 128, 192, 256, 320, 384, 320, 256, 192, 128, 64, 32]
    assert [tuple(f.shape[1::2]) for f in judged.features] == list(zip(widths, sides, strict=True))


def test_generator_tiled_equals_untiled_within_a_level(shared_dir: Path):
    """Tiles overlapping by the declared radius agree with the whole image to within a level;
    with no overlap the seams show, so the overlap is what makes them agree."""
    from dataclasses import replace

    from srlab.infer.upscaler import Upscaler
    from srlab.zoo import LoadedModel

    torch.manual_seed(0)
    net = CIPLABGenerator(features=8, growth=4, blocks=1).eval()
    spec = ARCHITECTURES["ciplab"].spec
    model = LoadedModel("ciplab", "ciplab", 16, net, spec)
    image = Image.open(shared_dir / "data/photos/dev/opencv_fruits.png").convert("RGB")
    lr = np.asarray(image)[:24, :40].astype(np.float32) / 255
    whole = Upscaler(model, tile=0, half=False).upscale_array(lr)
    tiled = Upscaler(model, tile=32, half=False).upscale_array(lr)  # two tiles across
    assert whole.shape == (384, 640, 3) and whole.std() > 0.01
    assert np.abs(whole - tiled).max() <= 1 / 255
    blind = LoadedModel("ciplab", "ciplab", 16, net, replace(spec, receptive_radius=0))
    seams = Upscaler(blind, tile=12, tile_overlap=0, half=False).upscale_array(lr)
    assert np.abs(whole - seams).max() > 1 / 255
