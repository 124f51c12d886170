"""Community RRDBNet checkpoints load by path: BasicSR (`params` / `params_ema`), Real-ESRGAN's
x2plus / x1 layout (pixel-unshuffled input), ESRGAN's two layouts, and CIPLAB's authors' layout;
build options are read off the tensors, and the loaded network gives what the same weights give
when loaded directly. Tampered files and pickles carrying code are refused in one line."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from srlab.archs.ciplab import CIPLABGenerator
from srlab.archs.ciplab import authors_keymap as ciplab_keymap
from srlab.archs.rrdb import RRDBNet, esrgan_keymap, original_esrgan_keymap
from srlab.cli.main import main
from srlab.zoo import ModelLoadError, load_model

SMALL = {"features": 16, "growth": 8, "blocks": 3}


def _net(scale: int, seed: int = 0) -> RRDBNet:
    torch.manual_seed(seed)
    return RRDBNet(scale=scale, **SMALL).eval()


def _renamed(net: torch.nn.Module, keymap) -> dict[str, torch.Tensor]:
    return {keymap.ours_to_theirs[k]: v for k, v in net.state_dict().items()}


def _write(path: Path, state: dict[str, torch.Tensor], wrapper: str | None = None) -> Path:
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state if wrapper is None else {wrapper: state}, path)
    return path


def _same_output(loaded: torch.nn.Module, direct: torch.nn.Module, side: int = 8) -> None:
    x = torch.rand(1, 3, side, side + 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = loaded(x), direct(x)
    assert ours.shape == theirs.shape
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize(
    ("name", "scale", "keymap", "wrapper"),
    [
        ("net_g_5000.pth", 4, None, "params"),  # BasicSR training checkpoint
        ("RealESRGAN_x4plus.pth", 4, None, "params_ema"),
        ("RealESRGAN_x2plus.pth", 2, None, "params_ema"),  # conv_first: 12 input channels
        ("x1_plain.safetensors", 1, None, None),  # 48 input channels
        ("RRDB_ESRGAN_x4.pth", 4, esrgan_keymap, None),
        ("RRDB_ESRGAN_x4_old_arch.pth", 4, original_esrgan_keymap, None),
        ("old_arch.safetensors", 4, original_esrgan_keymap, None),
    ],
)
def test_community_layouts_load_by_path(tmp_path, name, scale, keymap, wrapper):
    direct = _net(scale)
    state = direct.state_dict()
    if keymap is not None:
        state = _renamed(direct, keymap(scale=scale, **SMALL))
    path = _write(tmp_path / name, state, wrapper)
    loaded = load_model(path)
    assert loaded.arch == "rrdbnet" and loaded.scale == scale
    assert loaded.options == {"scale": scale, **SMALL}
    assert loaded.spec.size_multiple == 4 // scale
    _same_output(loaded.module, direct)


def test_ema_weights_win_over_the_trained_ones(tmp_path):
    ema, trained = _net(4, seed=0), _net(4, seed=1)
    path = tmp_path / "net_g_latest.pth"
    torch.save({"params": trained.state_dict(), "params_ema": ema.state_dict()}, path)
    _same_output(load_model(path).module, ema)


def test_ciplab_authors_layout_loads_by_path(tmp_path):
    torch.manual_seed(0)
    small = {"features": 8, "growth": 4, "blocks": 1}
    direct = CIPLABGenerator(**small).eval()
    path = _write(tmp_path / "ciplab_G.pth", _renamed(direct, ciplab_keymap(**small)))
    loaded = load_model(path)
    assert loaded.arch == "ciplab" and loaded.scale == 16
    _same_output(loaded.module, direct, side=3)


def test_upscale_cli_runs_an_x2plus_checkpoint_on_odd_sizes(tmp_path, capsys):
    """x2 needs even input sides: a 15×21 photo is padded for the network and cropped back."""
    net = _net(2)
    model = _write(tmp_path / "RealESRGAN_x2plus.pth", net.state_dict(), "params_ema")
    rgb = (np.random.default_rng(0).random((15, 21, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    out = tmp_path / "out"
    code = main(["upscale", str(tmp_path / "photo.png"), "-o", str(out), "--model", str(model),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    result = np.asarray(Image.open(out / "photo.png").convert("RGB")).astype(np.float32)
    assert result.shape == (30, 42, 3)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1), mode="replicate")
    with torch.no_grad():
        expected = net(padded)[0, :, :30, :42].clamp(0, 1).permute(1, 2, 0).numpy() * 255
    assert np.abs(result - expected).max() <= 1.0  # rounding of the 8-bit output


def test_models_inspect_says_what_a_file_is_without_running_it(tmp_path, capsys, monkeypatch):
    def refuse(self, x):
        raise AssertionError("inspect ran the network")

    monkeypatch.setattr(RRDBNet, "forward", refuse)
    net = _net(2)
    path = tmp_path / "x2.safetensors"
    save_file(net.state_dict(), str(path), metadata={"license": "BSD-3-Clause"})
    assert main(["models", "--inspect", str(path)]) == 0
    out = capsys.readouterr().out
    parameters = sum(p.numel() for p in net.parameters())
    for expected in ("rrdbnet", "BasicSR / Real-ESRGAN", "x2", "blocks=3", "features=16",
                     "growth=8", f"{parameters:,}", "BSD-3-Clause"):
        assert expected in out, expected
    old = tmp_path / "old.pth"
    _write(old, _renamed(_net(4), original_esrgan_keymap(scale=4, **SMALL)))
    assert main(["models", "--inspect", str(old)]) == 0
    out = capsys.readouterr().out
    assert "original layout" in out and "x4" in out and "not stated" in out


def _one_line_refusal(path: Path, capsys, *fragments: str) -> None:
    """load_model refuses the file in one line naming every fragment; so does the CLI."""
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, fragment
    photo = path.with_name("photo.png")
    Image.new("RGB", (8, 8)).save(photo)
    code = main(["upscale", str(photo), "-o", str(path.with_name("out")), "--model", str(path)])
    assert code != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and all(fragment in lines[0] for fragment in fragments)


def test_tampered_checkpoints_are_refused_naming_the_keys(tmp_path, capsys):
    state = _net(4).state_dict()
    state["conv_hr.weight"] = torch.zeros(16, 16, 1, 1)
    del state["conv_up2.bias"]
    basicsr = _write(tmp_path / "tampered.pth", state, "params_ema")
    _one_line_refusal(basicsr, capsys, "missing: conv_up2.bias",
                      "conv_hr.weight (16, 16, 1, 1) != (16, 16, 3, 3)")
    state = _renamed(_net(4), esrgan_keymap(scale=4, **SMALL))
    del state["RRDB_trunk.0.RDB1.conv1.weight"]  # options are still read off the other blocks
    _one_line_refusal(_write(tmp_path / "esrgan.safetensors", state), capsys,
                      "missing: RRDB_trunk.0.RDB1.conv1.weight")
    old = _renamed(_net(4), original_esrgan_keymap(scale=4, **SMALL))
    del old["model.10.weight"]
    old["model.8.bias"] = torch.zeros(3)
    old_path = _write(tmp_path / "old.pth", old)
    _one_line_refusal(old_path, capsys, "original layout", "missing: model.10.weight",
                      "model.8.bias (3,) != (16,)")
    assert main(["models", "--inspect", str(old_path)]) == 1
    assert "does not load: " in capsys.readouterr().out


def test_a_file_of_no_known_layout_names_the_families_and_the_keys(tmp_path, capsys):
    state = {"encoder.stem.weight": torch.zeros(8, 3, 3, 3), "encoder.stem.bias": torch.zeros(8)}
    path = _write(tmp_path / "mystery.safetensors", state)
    _one_line_refusal(path, capsys, "BasicSR / Real-ESRGAN", "ESRGAN RRDBNet", "CIPLAB",
                      "encoder.stem.weight", "sidecar")


class _Payload:
    """Unpickling this runs os.makedirs(target): code that a weights file must never run."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return os.makedirs, (self.target,)


def test_a_pickle_carrying_code_is_refused_without_running_it(tmp_path, capsys):
    target = tmp_path / "payload-ran"
    state = {"params_ema": _net(4).state_dict(), "extra": _Payload(target)}
    path = tmp_path / "RealESRGAN_x4plus.pth"
    torch.save(state, path)
    _one_line_refusal(path, capsys, "weights_only")
    assert not target.exists()
    torch.load(path, weights_only=False)  # the payload is real: a trusting reader runs it
    assert target.is_dir()
