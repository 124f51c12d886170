"""LPIPS with seeded random weights: properties, an independent functional reference, file loading
and its error messages."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from srlab.metrics import LPIPS, LPIPSWeightsError, lpips_distance

ALEX_CONVS = {0: (4, 2), 3: (1, 2), 6: (1, 1), 8: (1, 1), 10: (1, 1)}  # index: (stride, padding)
ALEX_POOL_AFTER = {0, 3}
VGG_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
VGG_TAP_CONVS = {2, 7, 14, 21, 28}
VGG_POOL_AFTER = {2, 7, 14, 21}


def _random_weights(net: str, seed: int = 0) -> tuple[dict, dict]:
    """Backbone (torchvision layout, with unused classifier keys) and heads (lpips layout)."""
    g = torch.Generator().manual_seed(seed)
    if net == "alex":
        shapes = {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3), 8: (256, 384, 3)}
        shapes[10] = (256, 256, 3)
        heads = (64, 192, 384, 256, 256)
    else:
        chans = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
        shapes = {i: (chans[k + 1], chans[k], 3) for k, i in enumerate(VGG_CONVS)}
        heads = (64, 128, 256, 512, 512)
    backbone = {}
    for i, (c_out, c_in, k) in shapes.items():
        std = (2.0 / (c_in * k * k)) ** 0.5
        backbone[f"features.{i}.weight"] = torch.randn(c_out, c_in, k, k, generator=g) * std
        backbone[f"features.{i}.bias"] = torch.randn(c_out, generator=g) * 0.1
    backbone["classifier.1.weight"] = torch.randn(10, 9216, generator=g)
    lin = {
        f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for k, c in enumerate(heads)
    }
    return backbone, lin


@pytest.fixture(scope="module")
def alex_files(tmp_path_factory):
    backbone, heads = _random_weights("alex")
    folder = tmp_path_factory.mktemp("lpips")
    torch.save(backbone, folder / "alexnet.pth")
    torch.save(heads, folder / "alex_heads.pth")
    return folder, backbone, heads


@pytest.fixture(scope="module")
def alex(alex_files):
    folder, _, _ = alex_files
    return LPIPS.from_files(folder / "alexnet.pth", folder / "alex_heads.pth")


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 64, 72, generator=g)
    y = (x + 0.1 * torch.randn(2, 3, 64, 72, generator=g)).clamp(0, 1)
    return x, y


def _reference(backbone, heads, x, y, net):
    """LPIPS written out with functional calls, einsum and explicit loops, in float64."""
    w = {k: v.double() for k, v in {**backbone, **heads}.items()}
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64).view(1, 3, 1, 1)

    def taps(img):
        h = ((2 * img.double() - 1) - shift) / scale
        out = []
        if net == "alex":
            for i, (stride, pad) in ALEX_CONVS.items():
                h = F.relu(
                    F.conv2d(h, w[f"features.{i}.weight"], w[f"features.{i}.bias"], stride, pad)
                )
                out.append(h)
                if i in ALEX_POOL_AFTER:
                    h = F.max_pool2d(h, kernel_size=3, stride=2)
        else:
            for i in VGG_CONVS:
                h = F.relu(F.conv2d(h, w[f"features.{i}.weight"], w[f"features.{i}.bias"], 1, 1))
                if i in VGG_TAP_CONVS:
                    out.append(h)
                if i in VGG_POOL_AFTER:
                    h = F.max_pool2d(h, kernel_size=2, stride=2)
        return out

    total = torch.zeros(x.shape[0], dtype=torch.float64)
    for k, (a, b) in enumerate(zip(taps(x), taps(y), strict=True)):
        na = a / (torch.einsum("nchw,nchw->nhw", a, a).sqrt()[:, None] + 1e-10)
        nb = b / (torch.einsum("nchw,nchw->nhw", b, b).sqrt()[:, None] + 1e-10)
        per_pixel = torch.einsum(
            "nchw,c->nhw", (na - nb) ** 2, w[f"lin{k}.model.1.weight"].flatten()
        )
        total += per_pixel.mean(dim=(1, 2))
    return total


def test_matches_functional_reference_alex(alex_files, alex, images):
    _, backbone, heads = alex_files
    x, y = images
    expected = _reference(backbone, heads, x, y, "alex")
    got = alex(x, y)
    assert got.shape == (2,) and got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-6)
    model64 = LPIPS.from_files(*[alex_files[0] / n for n in ("alexnet.pth", "alex_heads.pth")])
    torch.testing.assert_close(
        model64.double()(x.double(), y.double()), expected, rtol=1e-12, atol=0
    )
    assert expected.min() > 1e-3


def test_matches_functional_reference_vgg(tmp_path):
    backbone, heads = _random_weights("vgg", seed=3)
    torch.save({**backbone, **heads}, tmp_path / "vgg_combined.pth")
    model = LPIPS.from_files(tmp_path / "vgg_combined.pth", net="vgg").double()
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(1, 3, 32, 40, generator=g), torch.rand(1, 3, 32, 40, generator=g)
    expected = _reference(backbone, heads, x, y, "vgg")
    torch.testing.assert_close(model(x.double(), y.double()), expected, rtol=1e-12, atol=0)


def test_zero_for_identical_symmetric_and_non_negative(alex, images):
    x, y = images
    assert torch.equal(alex(x, x), torch.zeros(2))
    torch.testing.assert_close(alex(x, y), alex(y, x), rtol=1e-6, atol=0)
    noise = torch.rand(4, 3, 48, 48, generator=torch.Generator().manual_seed(9))
    assert (alex(noise, noise.flip(0)) > 0).all()


def test_signed_input_range_is_the_same_metric(alex_files, alex, images):
    folder, _, _ = alex_files
    signed = LPIPS.from_files(
        folder / "alexnet.pth", folder / "alex_heads.pth", input_range="signed"
    )
    x, y = images
    torch.testing.assert_close(signed(2 * x - 1, 2 * y - 1), alex(x, y))


def test_usable_as_a_frozen_loss(alex, images):
    x, y = images
    x = x.clone().requires_grad_(True)
    alex(x, y).mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in alex.parameters())


def test_combined_safetensors_file_round_trips(alex_files, alex, images, tmp_path):
    _, backbone, heads = alex_files
    save_file(alex.state_dict(), str(tmp_path / "lpips_alex.safetensors"))
    reloaded = LPIPS.from_files(tmp_path / "lpips_alex.safetensors")
    for key, value in {**backbone, **heads}.items():
        if not key.startswith("classifier"):
            assert torch.equal(reloaded.state_dict()[key], value)
    x, y = images
    assert torch.equal(reloaded(x, y), alex(x, y))


def test_lpips_distance_on_arrays_equals_the_module_on_8bit_tensors(alex, images):
    x, y = images
    a8 = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    b8 = (y[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    t = lambda img: torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    expected = alex(t(a8), t(b8)).item()
    assert lpips_distance(a8, b8, alex) == pytest.approx(expected, rel=1e-6)
    assert lpips_distance(a8.astype(np.uint16) * 257, b8, alex) == lpips_distance(a8, b8, alex)
    cropped = alex(t(a8[3:-3, 3:-3]), t(b8[3:-3, 3:-3])).item()
    assert lpips_distance(a8, b8, alex, crop_border=3) == pytest.approx(cropped, rel=1e-6)
    with pytest.raises(ValueError, match="RGB"):
        lpips_distance(a8[..., 0], b8[..., 0], alex)


def test_missing_file_names_the_file_and_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth.*torchvision.*lin0\.model\.1"):
        LPIPS.from_files(tmp_path / "nowhere.pth")


def test_missing_keys_and_wrong_shapes_are_listed_in_one_error(alex_files, tmp_path):
    folder, _, heads = alex_files
    broken = dict(heads)
    del broken["lin3.model.1.weight"]
    broken["lin1.model.1.weight"] = torch.rand(1, 64, 1, 1)
    torch.save(broken, tmp_path / "heads.pth")
    with pytest.raises(LPIPSWeightsError) as info:
        LPIPS.from_files(folder / "alexnet.pth", tmp_path / "heads.pth")
    message = str(info.value)
    assert "missing lin3.model.1.weight (1, 256, 1, 1)" in message
    assert "lin1.model.1.weight in" in message and "heads.pth" in message
    assert "(1, 64, 1, 1), expected (1, 192, 1, 1)" in message
    assert "alex.pth" in message and "alexnet-owt" in message
    with pytest.raises(LPIPSWeightsError, match=r"missing features\.0\.weight"):
        LPIPS.from_files(folder / "alex_heads.pth")


def test_unreadable_or_foreign_files_are_clear_errors(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(LPIPSWeightsError, match=r"cannot read .*junk\.pth"):
        LPIPS.from_files(tmp_path / "junk.pth")
    (tmp_path / "weights.npz").write_bytes(b"")
    with pytest.raises(LPIPSWeightsError, match=r"\.safetensors"):
        LPIPS.from_files(tmp_path / "weights.npz")
    torch.save({"state_dict": {"a": torch.zeros(1)}}, tmp_path / "nested.pth")
    with pytest.raises(LPIPSWeightsError, match="flat state dict"):
        LPIPS.from_files(tmp_path / "nested.pth")


def test_bad_arguments():
    with pytest.raises(ValueError, match="net"):
        LPIPS("squeeze")
    with pytest.raises(ValueError, match="input_range"):
        LPIPS(input_range="0-255")
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        LPIPS()(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32))
