"""SRResCGAN's G_SR is the authors' network number for number; its parts do what they claim."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from srlab.archs.srrescgan import SRResCGANGenerator, authors_keymap, l2_projection, wmad_sigma
from srlab.infer.upscaler import Upscaler
from srlab.zoo import ModelLoadError, load_model
from tests.archs.authors_files import listed_shapes


@pytest.fixture(scope="module")
def authors(shared_dir: Path) -> Path:
    return shared_dir / "data" / "srrescgan-authors"


def test_parameter_count_is_the_authors():
    net = SRResCGANGenerator()
    assert sum(p.numel() for p in net.parameters()) == 380_356
    assert sum(p.numel() for p in net.encoder.parameters()) == 4_928
    assert [sum(p.numel() for p in b.parameters()) for b in net.blocks] == [74_112] * 5
    assert sum(p.numel() for p in net.decoder.parameters()) == 4_867


def test_key_map_names_exactly_the_released_tensors(authors: Path):
    listed = listed_shapes(authors / "keys.txt")
    keymap = authors_keymap()
    assert {theirs: keymap.shapes[k] for k, theirs in keymap.ours_to_theirs.items()} == listed


@pytest.mark.parametrize(
    ("weights", "output"),
    [("g_sr_released_x4", "output_released_x4"),
     ("g_sr_perceptual_init", "output_perceptual_init")],
)
def test_reproduces_the_authors_forward_pass(authors: Path, weights: str, output: str):
    pixels = np.asarray(Image.open(authors / "lr.png").convert("RGB"))
    lr = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 255
    net = SRResCGANGenerator().eval()
    release = load_file(authors / f"{weights}.safetensors")
    net.load_state_dict(authors_keymap().import_state(release))
    with torch.no_grad():
        out = net(lr) * 255
    golden = load_file(authors / f"{output}.safetensors")["output"]
    assert out.shape == golden.shape == (1, 3, 160, 192)
    # 0-255 outputs; float32 sums run in a CPU-dependent order (6e-4 apart on some CPUs), so
    # the bar is the project's: 1e-4 of max|golden|
    assert (out - golden).abs().max().item() < 1e-4 * golden.abs().max().item()


def test_shipped_model_is_the_release_and_pickles_load(authors: Path, tmp_path: Path):
    release = load_file(authors / "g_sr_released_x4.safetensors")
    shipped = load_model("srrescgan-real-x4").module.state_dict()
    expected = authors_keymap().import_state(release)
    assert all(torch.equal(shipped[k], v) for k, v in expected.items())
    pickled = tmp_path / "srrescgan_model.pth"
    torch.save(release, pickled)
    loaded = load_model(pickled).module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in expected.items())


def test_mismatched_release_is_refused_naming_the_keys(authors: Path, tmp_path: Path):
    state = load_file(authors / "g_sr_released_x4.safetensors")
    state["model.conv1.weight_v"] = torch.zeros(64, 3, 3, 3)
    del state["alpha"]
    path = tmp_path / "broken.safetensors"
    save_file(state, path)
    with pytest.raises(ModelLoadError, match=r"missing: alpha.*model\.conv1\.weight_v"):
        load_model(path)


@pytest.mark.parametrize("sigma", [5.0, 10.0, 25.0])
def test_wmad_recovers_gaussian_noise(sigma: float):
    gen = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 256), indexing="ij")
    smooth = (100 + 60 * torch.sin(3 * xx) * torch.cos(2 * yy)).expand(1, 3, 256, 256)
    noisy = smooth + sigma * torch.randn(1, 3, 256, 256, generator=gen)
    assert wmad_sigma(noisy).item() == pytest.approx(sigma, rel=0.1)
    assert wmad_sigma(smooth.contiguous()).item() < 0.05


def test_projection_keeps_small_residuals_and_clips_large_ones():
    alpha = torch.tensor([0.0])
    r = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    n = r[0].numel()
    norms = r.flatten(1).norm(dim=1)
    # radius = sigma * sqrt(n - 1): above the first sample's norm, below the second's
    sigma = torch.stack([norms[0] * 2, norms[1] / 2]) / math.sqrt(n - 1)
    out = l2_projection(r, sigma, alpha)
    assert torch.equal(out[0], r[0])
    assert out[1].norm().item() == pytest.approx(sigma[1].item() * math.sqrt(n - 1), rel=1e-5)
    assert torch.allclose(out[1] / out[1].norm(), r[1] / r[1].norm(), atol=1e-6)


def test_tiles_share_the_whole_image_noise_level(shared_dir: Path):
    image = Image.open(shared_dir / "data/photos/dev/opencv_fruits.png").convert("RGB")
    hr = np.asarray(image)[:256, :320].astype(np.float32) / 255
    lr = hr[::4, ::4] + np.random.default_rng(0).normal(0, 8 / 255, (64, 80, 3))
    lr = np.clip(lr, 0, 1).astype(np.float32)
    model = load_model("srrescgan-real-x4")
    whole = Upscaler(model, tile=0).upscale_array(lr)
    tiled = Upscaler(model, tile=32, tile_overlap=16).upscale_array(lr)
    assert np.abs(whole - tiled).max() <= 1 / 255


def test_every_tile_gets_the_whole_image_sigma():
    model = load_model("srrescgan-real-x4")
    seen = []
    forward = model.module.forward

    def spy(x, sigma=None):
        seen.append(sigma)
        return forward(x, sigma=sigma)

    model.module.forward = spy
    lr = np.random.default_rng(1).random((40, 56, 3)).astype(np.float32)
    Upscaler(model, tile=16, tile_overlap=4).upscale_array(lr)
    expected = model.module.image_statistics(torch.from_numpy(lr).permute(2, 0, 1)[None])["sigma"]
    assert len(seen) == 12 and all(torch.equal(s, expected) for s in seen)


def test_system_network_sizes():
    from srlab.archs.dsgan_discriminator import DSGANDiscriminator
    from srlab.archs.lr_generator import LRGenerator
    from srlab.archs.vgg_discriminator import VGGStyleDiscriminator

    def count(net: torch.nn.Module) -> int:
        return sum(p.numel() for p in net.parameters())

    assert count(VGGStyleDiscriminator(high_pass=9)) == 14_499_401  # D_x
    assert count(DSGANDiscriminator()) == 1_030_273  # D_y
    g_lr = LRGenerator()
    assert count(g_lr) == 609_731
    assert g_lr(torch.rand(1, 3, 128, 128)).shape == (1, 3, 32, 32)
    assert DSGANDiscriminator()(torch.rand(2, 3, 32, 32)).shape == (2, 1, 32, 32)


def test_high_pass_views_ignore_flat_shading():
    from srlab.archs.blocks import HighPass

    ramp = torch.linspace(0, 1, 24).view(1, 1, 1, 24).expand(1, 3, 24, 24)
    for count_pad in (True, False):
        view = HighPass(5, count_pad)(ramp)[..., 3:-3, 3:-3]
        assert torch.allclose(view, torch.full_like(view, 0.5), atol=1e-4)
    # zero padding counted in the average darkens the border of a constant image
    flat = torch.full((1, 3, 12, 12), 0.5)
    assert HighPass(9, count_pad=True)(flat)[0, 0, 0, 0] > 0.5
    assert torch.allclose(HighPass(5, count_pad=False)(flat), torch.full_like(flat, 0.5))


def test_our_trained_generator_beats_the_release_on_its_own_degradation(shared_dir: Path):
    """The claim that made `srrescycgan-srlab-x4` ship, on three photos of the dev set."""
    from srlab.evaluation.benchmark import evaluate

    def rgb_psnr(name: str) -> float:
        report = evaluate(name, shared_dir / "data/photos/dev", 4, degradation="realworld",
                          rgb=True, max_images=3)
        return next(r.scores["psnr_rgb"] for r in report.means if r.method == name)

    assert rgb_psnr("srrescycgan-srlab-x4") > rgb_psnr("srrescgan-real-x4") + 0.3
