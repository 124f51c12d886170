"""Feature-space losses with seeded random networks: VGG perceptual, contextual on VGG, LPIPS."""

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import LOSSES, ContextualLoss, LPIPSLoss, PerceptualLoss, contextual_loss
from srlab.losses.vgg import LAYER_INDEX, VGG19Features
from srlab.metrics.lpips import LPIPS

DEEPEST = LAYER_INDEX["conv5_4"]


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory, random_vgg_state):
    """Seeded He-scaled VGG19 weights (up to conv5_4) in torchvision's layout."""
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save(random_vgg_state(DEEPEST), path)
    return path


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)


def test_perceptual_is_the_weighted_sum_of_feature_distances(vgg_file, images):
    pred, target = images
    loss = PerceptualLoss({"conv5_4": 1.0, "relu2_2": 0.25}, vgg_file)
    vgg = VGG19Features(["conv5_4", "relu2_2"], vgg_file)
    fp, ft = vgg(pred), vgg(target)
    expected = (fp["conv5_4"] - ft["conv5_4"]).abs().mean() + 0.25 * (
        fp["relu2_2"] - ft["relu2_2"]
    ).abs().mean()
    torch.testing.assert_close(loss(pred, target), expected)
    mse = PerceptualLoss({"relu2_2": 2.0}, vgg_file, criterion="mse")
    torch.testing.assert_close(
        mse(pred, target), 2.0 * (fp["relu2_2"] - ft["relu2_2"]).square().mean()
    )


def test_perceptual_raw255_feeds_values_unchanged(vgg_file, images):
    pred, target = images
    raw = PerceptualLoss({"conv5_4": 1.0}, vgg_file, input_range="raw255")
    scaled = PerceptualLoss({"conv5_4": 1.0}, vgg_file, input_range="255")
    unit = PerceptualLoss({"conv5_4": 1.0}, vgg_file)
    torch.testing.assert_close(scaled(255 * pred, 255 * target), unit(pred, target))
    torch.testing.assert_close(raw(255 * pred, 255 * target), unit(255 * pred, 255 * target))


def test_perceptual_zero_on_identical_and_gradient_to_pred_only(vgg_file, images):
    pred, target = (t.clone().requires_grad_(True) for t in images)
    loss = LOSSES["perceptual"](layers={"conv5_4": 1.0}, weights_path=vgg_file)
    assert loss(target.detach(), target.detach()).item() == 0.0
    loss(pred, target).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert target.grad is None


def test_perceptual_gradcheck(vgg_file):
    loss = PerceptualLoss({"conv5_4": 1.0, "relu3_4": 0.5}, vgg_file).double()
    g = torch.Generator().manual_seed(2)
    pred = torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    assert gradcheck(lambda p: loss(p, target), (pred,), fast_mode=True)


def test_perceptual_rejects_unknown_criterion(vgg_file):
    with pytest.raises(ValueError, match="criterion"):
        PerceptualLoss({"conv5_4": 1.0}, vgg_file, criterion="cosine")


def test_contextual_on_vgg_features(vgg_file, images):
    pred, target = images
    loss = ContextualLoss(weights_path=vgg_file)  # default layer relu3_4
    vgg = VGG19Features(["relu3_4"], vgg_file)
    expected = contextual_loss(vgg(pred)["relu3_4"], vgg(target)["relu3_4"])
    torch.testing.assert_close(loss(pred, target), expected)
    assert expected.item() > 0
    deeper = ContextualLoss(weights_path=vgg_file, layer="conv4_2")
    assert len(deeper.vgg.features) == LAYER_INDEX["conv4_2"] + 1


# ---- LPIPS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory):
    """A combined LPIPS (alex) file with seeded random backbone and non-negative heads."""
    torch.manual_seed(0)
    model = LPIPS("alex")
    for name, p in model.named_parameters():
        if name.startswith("lin"):
            p.data.uniform_(0, 1)
    path = tmp_path_factory.mktemp("lpips") / "lpips_alex.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def big_images():
    g = torch.Generator().manual_seed(3)
    return torch.rand(2, 3, 48, 40, generator=g), torch.rand(2, 3, 48, 40, generator=g)


def test_lpips_loss_is_the_batch_mean_of_lpips(lpips_file, big_images):
    pred, target = big_images
    metric = LPIPS.from_files(lpips_file)
    per_image = metric(pred, target)
    assert per_image.shape == (2,) and per_image[0] != per_image[1]
    torch.testing.assert_close(LPIPSLoss(lpips_file)(pred, target), per_image.mean())
    signed = LOSSES["lpips"]([lpips_file], input_range="signed")
    torch.testing.assert_close(signed(2 * pred - 1, 2 * target - 1), per_image.mean())


def test_lpips_loss_zero_on_identical_and_differentiable(lpips_file, big_images):
    pred, target = big_images
    loss = LPIPSLoss(lpips_file)
    assert loss(target, target).item() == 0.0
    assert all(not p.requires_grad for p in loss.parameters())
    x = pred.clone().requires_grad_(True)
    loss(x, target).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_lpips_loss_gradcheck(lpips_file):
    loss = LPIPSLoss(lpips_file).double()
    g = torch.Generator().manual_seed(4)
    pred = torch.rand(1, 3, 32, 32, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 3, 32, 32, generator=g, dtype=torch.float64)
    assert gradcheck(lambda p: loss(p, target), (pred,), fast_mode=True)


def test_lpips_loss_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        LPIPSLoss(tmp_path / "missing.pth")
