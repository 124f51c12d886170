"""G-MGBP is the authors' network number for number, and behaves as a noise-driven model should."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from srlab.archs.gmgbp import GMGBP, ClassicUpscale, authors_keymap
from srlab.infer.upscaler import Upscaler
from srlab.ops.resize import imresize
from srlab.zoo import ModelLoadError, load_model
from tests.archs.authors_files import listed_shapes


@pytest.fixture(scope="module")
def authors(shared_dir: Path) -> Path:
    return shared_dir / "data" / "gmgbp-authors"


@pytest.fixture(scope="module")
def lr(authors: Path) -> torch.Tensor:
    pixels = np.asarray(Image.open(authors / "lr.png").convert("RGB"))
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


def _authors_net(authors: Path, weights: str, scale: int) -> GMGBP:
    net = GMGBP(scale=scale)
    net.load_state_dict(authors_keymap().import_state(load_file(authors / weights)))
    return net.eval()


def test_trainable_parameter_count_is_the_authors():
    net = GMGBP()
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 281_084
    parts = {
        name: sum(p.numel() for p in getattr(net, name).parameters())
        for name in ("classic_upscale", "analysis", "upscale", "downscale", "synthesis")
    }
    assert parts == {
        "classic_upscale": 243, "analysis": 46_320, "upscale": 106_086,
        "downscale": 82_064, "synthesis": 46_371,
    }


def test_key_map_names_exactly_the_released_tensors(authors: Path):
    listed = listed_shapes(authors / "keys.txt")
    keymap = authors_keymap()
    ours = {theirs: keymap.shapes[k] for k, theirs in keymap.ours_to_theirs.items()}
    assert ours == listed


CASES = json.loads(
    (Path(__file__).resolve().parents[2].parent / "shared/data/gmgbp-authors/cases.json")
    .read_text()
)["cases"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_reproduces_the_authors_forward_pass(authors: Path, lr: torch.Tensor, case: str):
    spec = CASES[case]
    net = _authors_net(authors, spec["weights"], spec["scale"])
    golden = load_file(authors / f"{case}.safetensors")
    maps = [golden[f"noise_{k}"] for k in range(net.levels)] if spec["W"] else None
    with torch.no_grad():
        out = net(lr, spec["W"], noise_maps=maps)
    assert out.shape == golden["output"].shape == tuple(spec["output"])
    # float32 sums run in a CPU-dependent order (SIMD width, threads): typically 1e-7 apart,
    # up to 2.4e-5 on some CPUs; the project-wide bar for golden cases is 1e-4 of max|golden|
    tolerance = 1e-4 * golden["output"].abs().max().item()
    assert (out - golden["output"]).abs().max().item() < tolerance


@pytest.mark.parametrize("region", [1, 2, 3])
def test_shipped_weights_are_the_released_ones(authors: Path, region: int):
    shipped = load_model(f"gmgbp-r{region}").module.state_dict()
    released = authors_keymap().import_state(load_file(authors / f"gmgbp_R{region}.safetensors"))
    assert shipped.keys() == released.keys()
    assert all(torch.equal(shipped[k], released[k]) for k in shipped)


def test_authors_files_load_by_path_as_safetensors_and_as_pickles(authors: Path, tmp_path: Path):
    release = load_file(authors / "gmgbp_R1.safetensors")
    # The original .model files are legacy-format PyTorch pickles of this state dict.
    pickled = tmp_path / "BOE-R1_v3_ms.model"
    torch.save(release, pickled, _use_new_zipfile_serialization=False)
    reference = load_model("gmgbp-r1").module.state_dict()
    for path in (authors / "gmgbp_R1.safetensors", pickled):
        loaded = load_model(path, scale=2)
        assert loaded.arch == "gmgbp" and loaded.scale == 2
        state = loaded.module.state_dict()
        assert all(torch.equal(state[k], reference[k]) for k in reference)


class _Payload:
    """Stands for code smuggled into a pickle; weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_pickles_carrying_code_are_refused(tmp_path: Path):
    path = tmp_path / "evil.model"
    with path.open("wb") as f:
        pickle.dump({"x": _Payload()}, f)
    with pytest.raises(ModelLoadError, match="weights_only"):
        load_model(path)


def test_mismatched_release_is_refused_naming_the_keys(authors: Path, tmp_path: Path):
    state = load_file(authors / "gmgbp_R3.safetensors")
    del state["Synthesis.conv4.bias"]
    state["Upscaling.conv_up.weight"] = torch.zeros(97, 48, 5, 5)
    state["Extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.safetensors"
    save_file(state, path)
    with pytest.raises(ModelLoadError) as err:
        load_model(path)
    message = str(err.value)
    assert "missing: Synthesis.conv4.bias" in message
    assert "unexpected: Extra.weight" in message
    assert "Upscaling.conv_up.weight (97, 48, 5, 5) != (97, 48, 3, 3)" in message


def test_unrecognisable_file_asks_for_a_description(tmp_path: Path):
    path = tmp_path / "mystery.safetensors"
    save_file({"a.weight": torch.zeros(2)}, path)
    with pytest.raises(ModelLoadError, match="sidecar"):
        load_model(path)


@pytest.mark.parametrize("scale", range(2, 17))
def test_output_is_scale_times_the_input_at_every_scale(scale: int):
    net = GMGBP(scale=scale, features=6, growth=2).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 5, 7), 0.5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 3, 5 * scale, 7 * scale)


def test_other_scales_shrink_the_next_power_of_two_with_matlab_bicubic():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 9, 11)
    x3, x4 = GMGBP(scale=3).eval(), GMGBP(scale=4).eval()
    x3.load_state_dict(x4.state_dict())
    with torch.no_grad():
        assert torch.allclose(x3(x), imresize(x4(x), size=(27, 33)), atol=1e-6)


def test_classic_upscale_starts_as_half_pixel_bicubic():
    up = ClassicUpscale(1)
    with torch.no_grad():
        flat = up(torch.full((1, 1, 6, 7), 0.3))
        ramp = up(torch.arange(16.0).view(1, 1, 1, 16).expand(1, 1, 16, 16).contiguous())
    # One replicated pixel is less context than the 8-tap kernel needs, so only the interior
    # is exact; the network's own reflect padding keeps the borders out of its output.
    assert torch.allclose(flat[..., 2:-2, 2:-2], torch.full((1, 1, 8, 10), 0.3), atol=1e-6)
    # Output pixel j sits at input position (j + 0.5) / 2 - 0.5; away from the borders a
    # cubic reproduces a linear ramp exactly.
    expected = (torch.arange(32.0) + 0.5) / 2 - 0.5
    assert torch.allclose(ramp[0, 0, 10, 6:26], expected[6:26], atol=1e-5)


def test_w0_is_deterministic_and_w1_follows_the_seed():
    net = load_model("gmgbp-r3").module
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(1))

    def run(w: float, seed: int | None) -> torch.Tensor:
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return net(x, w, generator=gen)

    assert torch.equal(run(0.0, None), run(0.0, None))
    assert torch.equal(run(0.0, 1), run(0.0, 2))
    assert torch.equal(run(1.0, 5), run(1.0, 5))
    assert (run(1.0, 5) - run(1.0, 6)).abs().max() > 0.01
    assert (run(1.0, None) - run(1.0, None)).abs().max() > 0.01


def test_wrong_noise_maps_are_refused():
    net = GMGBP(scale=4, features=6, growth=2)
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="2 levels takes 2 noise maps, got 1"):
        net(x, 1.0, noise_maps=[torch.randn(1, 1, 16, 16)])
    with pytest.raises(ValueError, match=r"noise map 1 must be N×1×32×32"):
        net(x, 1.0, noise_maps=[torch.randn(1, 1, 16, 16), torch.randn(1, 1, 30, 32)])


@pytest.fixture(scope="module")
def photo(shared_dir: Path) -> np.ndarray:
    image = Image.open(shared_dir / "data/photos/dev/opencv_baboon.png").convert("RGB")
    return np.asarray(image)[100:172, 200:296].astype(np.float32) / 255


def test_tiled_equals_untiled_at_w0(photo: np.ndarray):
    model = load_model("gmgbp-r3")
    whole = Upscaler(model, tile=0, half=False).upscale_array(photo)
    tiled = Upscaler(model, tile=40, tile_overlap=16, half=False).upscale_array(photo)
    assert np.abs(whole - tiled).max() <= 1 / 255


def test_tiles_share_one_noise_draw(photo: np.ndarray):
    model = load_model("gmgbp-r3")
    whole = Upscaler(model, tile=0, half=False, noise=1.0, seed=3).upscale_array(photo)
    tiled = Upscaler(model, tile=40, tile_overlap=16, half=False, noise=1.0, seed=3)
    tiled = tiled.upscale_array(photo)
    other = Upscaler(model, tile=0, half=False, noise=1.0, seed=4).upscale_array(photo)
    seam_error = np.abs(whole - tiled).mean()
    assert seam_error < 0.1 * np.abs(whole - other).mean()
    assert np.abs(whole - tiled).max() <= 2 / 255


def test_bf16_is_the_default_only_where_the_cpu_has_it(photo: np.ndarray):
    from srlab.infer.precision import cpu_supports_bf16

    model = load_model("gmgbp-r3")
    auto = Upscaler(model, tile=0)
    assert auto.dtype == (torch.bfloat16 if cpu_supports_bf16() else torch.float32)
    assert Upscaler(load_model("bicubic"), tile=0).dtype == torch.float32
    full = Upscaler(model, tile=0, half=False).upscale_array(photo)
    assert np.abs(auto.upscale_array(photo) - full).mean() < 1 / 255
