"""Models load by name or file, say what they are, and refuse weights that do not fit."""

import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from srlab.archs import ARCHITECTURES, Architecture, ModelSpec
from srlab.archs.bicubic import BicubicInterpolator
from srlab.zoo import ModelLoadError, load_model, save_model
from srlab.zoo.loader import inspect_file


class TinyNet(nn.Module):
    def __init__(self, scale: int = 2, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


REGISTRY = {
    **ARCHITECTURES,
    "tiny": Architecture("tiny", TinyNet, ModelSpec(scales=(2, 3)), "test network"),
}


def test_default_is_gmgbp_r3_at_x4():
    model = load_model()
    assert model.name == "gmgbp-r3" and model.arch == "gmgbp"
    assert model.scale == 4 and model.module.scale == 4


def test_bicubic_is_still_in_the_catalogue():
    model = load_model("bicubic")
    assert isinstance(model.module, BicubicInterpolator) and model.scale == 4


def test_scale_free_model_takes_any_integer_scale():
    assert load_model("bicubic", scale=3).module.scale == 3


def test_save_then_load_round_trips_weights_and_options(tmp_path):
    net = TinyNet(scale=3)
    path = save_model(tmp_path / "tiny.safetensors", net, arch="tiny", options={"scale": 3})
    assert json.loads(path.with_suffix(".json").read_text()) == {
        "arch": "tiny", "options": {"scale": 3},
    }
    loaded = load_model(path, registry=REGISTRY)
    assert loaded.arch == "tiny" and loaded.scale == 3
    for k, v in net.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[k], v)


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "tiny.safetensors"
    save_model(path, TinyNet(), arch="tiny", options={})
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        save_model(path, TinyNet(), arch="tiny", options={})
    assert path.read_bytes() == before
    save_model(path, TinyNet(), arch="tiny", options={}, overwrite=True)


def test_plain_safetensors_need_a_sidecar(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file(TinyNet().state_dict(), str(path))
    with pytest.raises(ModelLoadError, match="sidecar"):
        load_model(path, registry=REGISTRY)
    path.with_suffix(".json").write_text(json.dumps({"arch": "tiny", "options": {"scale": 2}}))
    assert load_model(path, registry=REGISTRY).scale == 2


def test_mismatched_weights_are_named(tmp_path):
    state = TinyNet().state_dict()
    state["extra.weight"] = torch.zeros(1)
    state["conv.bias"] = torch.zeros(5)
    del state["conv.weight"]
    path = tmp_path / "bad.safetensors"
    save_file(state, str(path), metadata={"srlab": json.dumps({"arch": "tiny", "options": {}})})
    with pytest.raises(ModelLoadError) as err:
        load_model(path, registry=REGISTRY)
    message = str(err.value)
    assert "missing: conv.weight" in message
    assert "unexpected: extra.weight" in message
    assert "conv.bias (5,) != (12,)" in message


def test_unknown_names_are_refused():
    with pytest.raises(ModelLoadError, match="no such model name"):
        load_model("no-such-model")


def test_a_folder_or_device_as_model_is_refused_in_one_line(tmp_path):
    (tmp_path / "m.safetensors").mkdir()
    with pytest.raises(ModelLoadError, match="is a folder, not a model file"):
        load_model(tmp_path / "m.safetensors")
    with pytest.raises(ModelLoadError, match="device, pipe or socket"):
        load_model("/dev/null")
    with pytest.raises(ModelLoadError, match="is a folder, not a model file"):
        inspect_file(tmp_path / "m.safetensors")


def test_unsupported_scale_and_unknown_arch_are_refused(tmp_path):
    path = save_model(tmp_path / "t.safetensors", TinyNet(), arch="tiny", options={"scale": 2})
    with pytest.raises(ModelLoadError, match="not x4"):
        load_model(path, scale=4, registry=REGISTRY)
    with pytest.raises(ModelLoadError, match="unknown architecture 'tiny'"):
        load_model(path)


def test_corrupt_file_is_reported(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelLoadError, match="not a readable safetensors"):
        load_model(path)


def test_basicsr_style_pickles_load_their_ema_weights(tmp_path):
    ema, plain = TinyNet(scale=2), TinyNet(scale=2)
    path = tmp_path / "net_g_1000.pth"
    torch.save({"params": plain.state_dict(), "params_ema": ema.state_dict()}, path)
    path.with_suffix(".json").write_text(json.dumps({"arch": "tiny", "options": {"scale": 2}}))
    loaded = load_model(path, registry=REGISTRY).module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in ema.state_dict().items())


def test_pretrained_weights_load_from_an_authors_release(shared_dir):
    from srlab.archs.srrescgan import SRResCGANGenerator
    from srlab.zoo.loader import load_weights

    module = SRResCGANGenerator()
    load_weights(shared_dir / "data/srrescgan-authors/g_sr_perceptual_init.safetensors", module,
                 ARCHITECTURES["srrescgan"])
    assert module.alpha.item() == pytest.approx(9.0099, abs=1e-3)
    with pytest.raises(ModelLoadError, match="no such weights file"):
        load_weights(shared_dir / "nope.safetensors", module, ARCHITECTURES["srrescgan"])


def test_a_whole_network_of_wrong_keys_is_named_in_a_short_line(tmp_path):
    """A checkpoint of a deeper build names the first unexpected keys and counts the rest."""
    state = TinyNet().state_dict() | {f"deep.{i}.weight": torch.zeros(1) for i in range(30)}
    path = tmp_path / "deeper.safetensors"
    save_file(state, str(path), metadata={"srlab": json.dumps({"arch": "tiny", "options": {}})})
    with pytest.raises(ModelLoadError) as err:
        load_model(path, registry=REGISTRY)
    message = str(err.value)
    assert "unexpected: deep.0.weight, deep.1.weight" in message
    assert "and 22 more" in message and "deep.29.weight" not in message
    assert "\n" not in message and len(message) < 400
