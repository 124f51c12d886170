"""Our VGG19: torchvision layout, layer names, weight files, input ranges, freezing, errors."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from srlab.losses.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LAYER_INDEX,
    VGG19Features,
    VGGWeightsError,
    load_vgg19_weights,
    vgg19_layers,
)

# docs/architectures.md §1.6 and torchvision's vgg19().features
SPEC_CONVS = {
    "conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12,
    "conv3_3": 14, "conv3_4": 16, "conv4_1": 19, "conv4_2": 21, "conv4_3": 23, "conv4_4": 25,
    "conv5_1": 28, "conv5_2": 30, "conv5_3": 32, "conv5_4": 34,
}  # fmt: skip
SPEC_POOLS = {"pool1": 4, "pool2": 9, "pool3": 18, "pool4": 27, "pool5": 36}
TORCHVISION_VGG19_FEATURE_PARAMS = 20_024_384


@pytest.fixture(scope="module")
def full_state(random_vgg_state):
    return random_vgg_state()


@pytest.fixture(scope="module")
def weights_file(full_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("vgg") / "vgg19-random.pth"
    torch.save(full_state, path)
    return path


def reference_features(x: torch.Tensor, state: dict, last_index: int) -> torch.Tensor:
    """Independent functional VGG19 from the raw state dict, on 0..1 input."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype).view(1, 3, 1, 1)
    x = (x - mean) / std
    convs = set(SPEC_CONVS.values())
    for index in range(last_index + 1):
        if index in convs:
            w, b = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
            x = F.conv2d(x, w.to(x.dtype), b.to(x.dtype), padding=1)
        elif index in SPEC_POOLS.values():
            x = F.max_pool2d(x, 2)
        else:
            x = F.relu(x)
    return x


def test_layer_names_match_torchvision_indices():
    expected = dict(SPEC_CONVS, **SPEC_POOLS)
    expected.update({n.replace("conv", "relu"): i + 1 for n, i in SPEC_CONVS.items()})
    assert expected == LAYER_INDEX


def test_layers_have_torchvision_types_and_size():
    layers = vgg19_layers()
    assert len(layers) == 37
    for index, layer in enumerate(layers):
        if index in SPEC_CONVS.values():
            assert isinstance(layer, nn.Conv2d) and layer.kernel_size == (3, 3)
            assert layer.padding == (1, 1)
        elif index in SPEC_POOLS.values():
            assert isinstance(layer, nn.MaxPool2d) and layer.kernel_size == 2
        else:
            assert isinstance(layer, nn.ReLU) and not layer.inplace
    params = sum(p.numel() for layer in layers for p in layer.parameters())
    assert params == TORCHVISION_VGG19_FEATURE_PARAMS


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_outputs_match_a_functional_reference(full_state, tmp_path, suffix):
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        torch.save(full_state, path)
    else:
        save_file(full_state, str(path))
    vgg = VGG19Features(["conv5_4", "relu3_4", "conv1_1"], path)
    x = torch.rand(2, 3, 32, 24, generator=torch.Generator().manual_seed(1))
    out = vgg(x)
    assert set(out) == {"conv5_4", "relu3_4", "conv1_1"}
    for name in out:
        ref = reference_features(x, full_state, LAYER_INDEX[name])
        torch.testing.assert_close(out[name], ref, rtol=1e-4, atol=1e-5)
    assert out["conv5_4"].shape == (2, 512, 2, 1)
    assert out["relu3_4"].shape == (2, 256, 8, 6)


def test_pre_and_post_activation(weights_file):
    vgg = VGG19Features(["conv3_4", "relu3_4"], weights_file)
    out = vgg(torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2)))
    assert (out["conv3_4"] < 0).any()  # pre-activation keeps negatives ...
    assert torch.equal(out["relu3_4"], F.relu(out["conv3_4"]))  # ... and was not modified in place


def test_runs_only_up_to_the_deepest_requested_layer(tmp_path, random_vgg_state):
    path = tmp_path / "first_blocks.pth"
    torch.save(random_vgg_state(last_index=LAYER_INDEX["relu3_4"]), path)
    vgg = VGG19Features(["relu3_4", "conv2_2"], path)  # the truncated file is enough
    assert len(vgg.features) == LAYER_INDEX["relu3_4"] + 1
    with pytest.raises(VGGWeightsError, match=r"lacks features\.19\.weight"):
        VGG19Features(["conv5_4"], path)


def test_input_ranges(weights_file):
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    unit = VGG19Features(["relu2_2"], weights_file, input_range="unit")
    scaled = VGG19Features(["relu2_2"], weights_file, input_range="255")
    raw = VGG19Features(["relu2_2"], weights_file, input_range="raw255")
    torch.testing.assert_close(scaled(255 * x)["relu2_2"], unit(x)["relu2_2"])
    # the authors' quirk: 0..255 values normalised as if they were 0..1
    assert torch.equal(raw(255 * x)["relu2_2"], unit(255 * x)["relu2_2"])
    assert not torch.allclose(raw(255 * x)["relu2_2"], unit(x)["relu2_2"])


def test_frozen_but_differentiable_in_the_input(weights_file):
    vgg = VGG19Features(["conv2_1"], weights_file)
    assert not vgg.training
    assert all(not p.requires_grad for p in vgg.parameters())
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    vgg(x)["conv2_1"].square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_loader_ignores_classifier_and_strips_prefix(weights_file, full_state):
    state = load_vgg19_weights(weights_file)
    assert len(state) == 32
    assert torch.equal(state["34.weight"], full_state["features.34.weight"])
    assert not any(k.startswith(("features.", "classifier")) for k in state)


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_missing_file_error_names_file_and_source(tmp_path):
    path = tmp_path / "nowhere" / "vgg19.pth"
    with pytest.raises(FileNotFoundError) as excinfo:
        VGG19Features(["conv5_4"], path)
    message = _one_line(excinfo)
    assert str(path) in message and "vgg19-dcbb9e9d.pth" in message and "torchvision" in message


def test_unknown_file_kind_error_names_the_accepted_kinds(tmp_path):
    path = tmp_path / "vgg19.h5"
    path.write_bytes(b"not weights")
    with pytest.raises(VGGWeightsError) as excinfo:
        VGG19Features(["conv5_4"], path)
    message = _one_line(excinfo)
    assert str(path) in message
    assert all(kind in message for kind in (".safetensors", ".pth", ".pt", ".model", ".ckpt"))


def test_wrong_shape_error(full_state, tmp_path):
    bad = dict(full_state)
    bad["features.2.weight"] = torch.zeros(64, 32, 3, 3)
    path = tmp_path / "bad.safetensors"
    save_file(bad, str(path))
    with pytest.raises(VGGWeightsError) as excinfo:
        load_vgg19_weights(path)
    message = _one_line(excinfo)
    assert "features.2.weight (64, 32, 3, 3) (expected (64, 64, 3, 3))" in message
    assert str(path) in message


def test_missing_keys_error_lists_them(full_state, tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({k: v for k, v in full_state.items() if k != "features.0.bias"}, path)
    with pytest.raises(VGGWeightsError) as excinfo:
        load_vgg19_weights(path)
    message = _one_line(excinfo)
    assert "lacks features.0.bias;" in message and str(path) in message


def test_unreadable_file_error(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(VGGWeightsError) as excinfo:
        load_vgg19_weights(path)
    assert str(path) in _one_line(excinfo)


def test_bad_layer_name_and_input_range(weights_file):
    with pytest.raises(ValueError, match="conv6_1"):
        VGG19Features(["conv6_1"], weights_file)
    with pytest.raises(ValueError, match="input_range"):
        VGG19Features(["conv1_1"], weights_file, input_range="0-255")
    with pytest.raises(ValueError, match="at least one"):
        VGG19Features([], weights_file)
