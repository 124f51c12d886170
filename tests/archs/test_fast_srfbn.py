"""Fast-SRFBN is the authors' generator layer for layer: formula weights through the key map
reproduce their recorded hidden states and reconstruction branches at every step."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from srlab.archs.fast_srfbn import FastSRFBN, authors_keymap
from tests.archs.authors_files import formula_state


@pytest.fixture(scope="module")
def authors(shared_dir: Path) -> Path:
    return shared_dir / "data" / "fastsrfbn-authors"


def test_parameter_count_is_the_factsheets():
    net = FastSRFBN()
    assert sum(p.numel() for p in net.parameters()) == 2_099_625
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 2_099_601
    assert sum(p.numel() for p in net.feedback.blocks[0].parameters()) == 71_255


def test_authors_initialisation_is_kaiming_normal_with_zero_biases():
    torch.manual_seed(0)
    net = FastSRFBN(scale=4, steps=1, blocks=1, init="authors")
    default = FastSRFBN(scale=4, steps=1, blocks=1)
    for conv, fan_in in ((net.squeeze[0], 256), (net.upsample[0], 64 * 8 * 8)):
        expected = (2 / fan_in) ** 0.5  # ReLU gain, fan-in
        assert conv.weight.std().item() == pytest.approx(expected, rel=0.03)
        assert conv.weight.mean().abs().item() < 0.05 * expected
    biases = [m.bias for m in net.modules()
              if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
              and m not in (net.sub_mean, net.add_mean)]
    assert biases and all(torch.count_nonzero(b) == 0 for b in biases)
    assert torch.equal(net.sub_mean.bias, default.sub_mean.bias)  # mean shifts untouched
    # PyTorch's default draws far smaller transposed-convolution weights
    assert default.upsample[0].weight.std() < 0.5 * net.upsample[0].weight.std()
    with pytest.raises(ValueError, match="init"):
        FastSRFBN(init="xavier")


@pytest.mark.parametrize("scale", [2, 3, 4, 8, 16])
def test_every_step_is_an_image_at_the_scale(scale: int):
    net = FastSRFBN(scale=scale, features=16, steps=3, blocks=1)
    outs = net(torch.rand(1, 3, 6, 5))
    assert len(outs) == 3 and all(o.shape == (1, 3, 6 * scale, 5 * scale) for o in outs)


def test_reproduces_the_authors_generator(authors: Path):
    net = FastSRFBN().eval()
    keymap = authors_keymap()
    built = {keymap.ours_to_theirs[k]: v for k, v in net.state_dict().items()}
    gain = json.loads((authors / "cases.json").read_text())["cases"]["generator"]["gain"]
    state = formula_state(authors / "generator_keys.txt", gain, built)
    net.load_state_dict(keymap.import_state(state))

    recorded: dict[str, list[torch.Tensor]] = {"hidden": [], "branch": []}
    net.feedback.register_forward_hook(lambda m, i, o: recorded["hidden"].append(o))
    net.tail.register_forward_hook(lambda m, i, o: recorded["branch"].append(o))
    pixels = np.asarray(Image.open(authors / "lr.png").convert("RGB")).copy()
    lr = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        outputs = net(lr)
    golden = load_file(authors / "generator_outputs.safetensors")
    for step in range(4):
        for kind in ("hidden", "branch"):
            ref = golden[f"{kind}_{step}"]
            ours = recorded[kind][step]
            assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max(), f"{kind}_{step}"
    ref = golden["output_3"]
    assert (outputs[-1] * 255 - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_reproduces_the_authors_discriminator(authors: Path):
    from srlab.archs.keymap import KeyMap
    from srlab.archs.vgg_discriminator import VGGStyleDiscriminator, fast_srfbn_authors_name

    d = VGGStyleDiscriminator(input_size=384, conv_bias=True, attention=True).eval()
    assert sum(p.numel() for p in d.parameters()) == 21_404_843
    keymap = KeyMap.from_module("Fast-SRFBN D", d, fast_srfbn_authors_name)
    built = {keymap.ours_to_theirs[k]: v for k, v in d.state_dict().items()}
    gain = json.loads((authors / "cases.json").read_text())["cases"]["discriminator"]["gain"]
    d.load_state_dict(keymap.import_state(
        formula_state(authors / "discriminator_keys.txt", gain, built)
    ))
    pixels = np.asarray(Image.open(authors / "hr384.png").convert("RGB")).copy()
    hr = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    golden = load_file(authors / "discriminator_outputs.safetensors")
    with torch.no_grad():
        features = d.features(hr)
        logit = d.classifier(features)
    for ours, ref in ((features, golden["features"]), (logit, golden["logit"])):
        assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_a_short_pixel_run_lowers_every_steps_loss():
    from srlab.recipes.base import LossTerm, TermSet, supervise_steps

    torch.manual_seed(0)
    net = FastSRFBN(scale=4, features=16, steps=3, blocks=1)
    terms = TermSet([LossTerm("l1", input_scale=255)])
    hr = torch.nn.functional.interpolate(torch.rand(2, 3, 6, 6), size=24, mode="bicubic")
    lr = torch.nn.functional.avg_pool2d(hr, 4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    first = last = None
    for _ in range(50):
        loss, logs = supervise_steps(net(lr), hr, terms, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or {k: v.item() for k, v in logs.items()}
        last = {k: v.item() for k, v in logs.items()}
    assert set(last) == {"step0_l1", "step1_l1", "step2_l1"}
    assert all(last[k] < 0.7 * first[k] for k in last)


def test_loss_terms_can_work_on_the_authors_0_255_scale():
    from srlab.recipes.base import LossTerm, TermSet

    pred, target = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    unit, _ = TermSet([LossTerm("l1")])(pred, target)
    pixels, _ = TermSet([LossTerm("l1", input_scale=255)])(pred, target)
    assert pixels.item() == pytest.approx(255 * unit.item(), rel=1e-5)


def test_inference_computes_only_the_last_step_and_matches_it():
    torch.manual_seed(0)
    net = FastSRFBN(scale=4, features=16, steps=3, blocks=1).eval()
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        every, last = net(x), net(x, last_only=True)
    assert len(last) == 1 and torch.equal(last[0], every[-1])


def test_tiled_equals_untiled_within_a_level(shared_dir: Path):
    """Within 1/255, not exactly: the channel attention pools over whatever map it is given."""
    from srlab.archs.fast_srfbn import SPEC
    from srlab.infer.upscaler import Upscaler
    from srlab.zoo import LoadedModel

    torch.manual_seed(0)
    net = FastSRFBN(scale=4, features=16, steps=4, blocks=2).eval()
    model = LoadedModel("fast-srfbn", "fast_srfbn", 4, net, SPEC)
    image = Image.open(shared_dir / "data/photos/dev/opencv_fruits.png").convert("RGB")
    lr = np.asarray(image)[:72, :96].astype(np.float32) / 255
    whole = Upscaler(model, tile=0, half=False).upscale_array(lr)
    tiled = Upscaler(model, tile=32, tile_overlap=16, half=False).upscale_array(lr)
    assert np.abs(whole - tiled).max() <= 1 / 255
