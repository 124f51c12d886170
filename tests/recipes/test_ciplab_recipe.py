"""CIPLAB's recipe: what each phase computes and sees, its config errors (dotted paths, the
one-line LPIPS error), short runs that lower the losses, and the shipped configs trained for two
iterations."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srlab.archs.ciplab import CIPLABGenerator
from srlab.archs.ciplab_discriminator import UNetJudgement
from srlab.cli.main import USAGE_ERROR, main
from srlab.config import ConfigError, dump_yaml, load_config
from srlab.losses import HuberLoss, MSELoss
from srlab.losses.unet_gan import UNetHingeLoss
from srlab.metrics import LPIPS
from srlab.ops.resize import imresize
from srlab.recipes import RECIPES
from srlab.recipes.ciplab import CiplabConfig, CiplabRecipe
from srlab.train import checkpoint as ckpt
from srlab.train.schema import ExperimentConfig
from tests.recipes.test_recipe_table import error, experiment
from tests.train.test_engine_runs import ROOT, TWO_ITERATIONS, train_shrunk


class TinyUNet(nn.Module):
    """A U-Net discriminator in miniature (two levels), with the real one's interface."""

    def __init__(self) -> None:
        super().__init__()
        self.e1, self.e2 = nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1)
        self.global_head = nn.Conv2d(4, 1, 1)
        self.d1, self.d2 = nn.Conv2d(4, 4, 3, 1, 1), nn.Conv2d(8, 4, 3, 1, 1)
        self.pixel_head = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor) -> UNetJudgement:
        e1 = F.leaky_relu(self.e1(x), 0.1)
        e2 = F.leaky_relu(self.e2(e1), 0.1)
        d1 = F.leaky_relu(self.d1(F.interpolate(e2, scale_factor=2)), 0.1)
        d2 = F.leaky_relu(self.d2(F.interpolate(torch.cat([d1, e1], 1), scale_factor=2)), 0.1)
        return UNetJudgement(self.global_head(e2), self.pixel_head(d2), [e1, e2, d1, d2])


class Recording(nn.Module):
    """Calls ``net`` and keeps the inputs it was given."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.inputs = net, []

    def forward(self, x: torch.Tensor):
        self.inputs.append(x.detach().clone())
        return self.net(x)


def tiny_generator(seed: int = 0) -> CIPLABGenerator:
    torch.manual_seed(seed)
    return CIPLABGenerator(features=8, growth=4, blocks=1)


def patches(n: int = 4) -> dict[str, torch.Tensor]:
    """Smooth HR patches (64², upscaled noise, learnable) and their ×16 MATLAB-bicubic LR."""
    coarse = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    hr = F.interpolate(coarse, size=64, mode="bicubic", align_corners=False).clamp(0, 1)
    return {"lr": imresize(hr, scale=1 / 16).clamp(0, 1), "hr": hr}


def recipe(**options) -> CiplabRecipe:
    return CiplabRecipe(CiplabConfig(**{"lpips_weight": 0.0, **options}))


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory) -> Path:
    """Seeded stand-in LPIPS weights (the real ones cannot be downloaded here)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("lpips") / "lpips_alex.pth"
    torch.save(LPIPS("alex").state_dict(), path)
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread runs their small convolutions fastest on a busy CPU, where
    several spin and wait on every one of them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("settings", "networks", "message"),
    [
        ({"stage": 3}, ("g",), "recipe.stage: expected one of 1, 2, got 3"),
        ({"stage": 2, "lpips_weight": 0}, ("g",),
         "recipe.discriminator: 'd' is not one of the networks (g)"),
        ({"huber_delta": 0}, ("g",), "recipe.huber_delta: must be positive, got 0.0"),
        ({"gan_weight": -1}, ("g",), "recipe.gan_weight: must be at least 0, got -1.0"),
        ({"cutmix_probability": 1.5}, ("g",),
         "recipe.cutmix_probability: must be a probability in 0..1, got 1.5"),
        ({"cutmix_target": "box"}, ("g",),
         "recipe.cutmix_target: expected one of 'fake', 'mask', got 'box'"),
        ({"pixel_loss": "l1"}, ("g",),
         "recipe.pixel_loss: expected one of 'huber', 'mse', got 'l1'"),
        ({"stage": 2}, ("g", "d"),
         "recipe.lpips_weights: stage 2 weighs LPIPS by 0.001 but names no weight files; give "
         "torchvision's AlexNet checkpoint and the LPIPS heads (or one file holding both), or "
         "set lpips_weight: 0"),
        ({"cutmix_probabilty": 0.5}, ("g",),
         "recipe.cutmix_probabilty: unknown key (did you mean 'cutmix_probability'?)"),
    ],
)
def test_config_errors_name_the_dotted_path(settings, networks, message):
    assert error(experiment({"kind": "ciplab", **settings}, networks)) == message


def test_stage1_needs_no_discriminator_and_configs_round_trip(tmp_path: Path):
    stage1 = load_config(ExperimentConfig, experiment({"kind": "ciplab"}))
    assert stage1.recipe == CiplabConfig() and type(stage1.recipe) is RECIPES["ciplab"].config
    stage2 = load_config(
        ExperimentConfig,
        experiment({"kind": "ciplab", "stage": 2, "lpips_weights": ["a.pth", "b.pth"]},
                   ("g", "d")),
    )
    file = tmp_path / "resolved.yaml"
    file.write_text(dump_yaml(stage2))
    assert load_config(ExperimentConfig, file) == stage2


def test_unusable_lpips_files_are_one_line_errors(tmp_path: Path):
    missing = tmp_path / "alex.pth"
    with pytest.raises(ConfigError) as info:
        recipe(stage=2, lpips_weight=1e-3, lpips_weights=[missing])
    message = str(info.value)
    assert message.startswith(f"lpips_weights: LPIPS weights file {missing} not found; ")
    assert message.endswith("; or set lpips_weight: 0 to train without LPIPS")
    wrong = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ConfigError) as info:
        recipe(stage=2, lpips_weight=1e-3, lpips_weights=[wrong])
    assert "\n" not in str(info.value) and "do not fit" in str(info.value)


def test_srlab_train_reports_missing_lpips_weights_in_one_line(
    shared_dir, tmp_path, capsys, monkeypatch
):
    """configs/ciplab-stage2-x16.yaml without the LPIPS files: exit 255 before any work."""
    monkeypatch.chdir(ROOT)
    run_dir = tmp_path / "run"
    missing = tmp_path / "no" / "alexnet.pth"
    args = ["train", "configs/ciplab-stage2-x16.yaml", "--run-dir", str(run_dir), "--quiet"]
    for item in ("networks.g.pretrained=null", "networks.g.options.blocks=1",
                 f"recipe.lpips_weights=[{missing}]"):
        args += ["--set", item]
    code = main(args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == USAGE_ERROR and len(lines) == 1, lines
    assert lines[0].startswith(
        f"srlab: error: recipe.lpips_weights: LPIPS weights file {missing} not found; "
    )
    assert not run_dir.exists()


# ------------------------------------------------------------------------------ the phases


@pytest.mark.parametrize(("pixel_loss", "criterion"), [("huber", HuberLoss(0.01)),
                                                       ("mse", MSELoss())])
def test_stage1_is_the_pixel_loss_alone(pixel_loss, criterion):
    g, batch = tiny_generator(), patches()
    phases = list(recipe(pixel_loss=pixel_loss).phases(batch, {"g": g}))
    assert [p.networks for p in phases] == [("g",)]
    expected = criterion(g(batch["lr"]), batch["hr"])
    torch.testing.assert_close(phases[0].loss, expected)
    assert set(phases[0].logs) == {pixel_loss}


def test_stage2_steps_d_on_one_half_then_g_on_the_other(lpips_file):
    g, d = Recording(tiny_generator()), Recording(TinyUNet())
    batch = patches(4)
    steps = recipe(stage=2, lpips_weight=1e-3, lpips_weights=[lpips_file],
                   cutmix_probability=0.0).phases(batch, {"g": g, "d": d})
    d_phase = next(steps)
    assert d_phase.networks == ("d",)
    assert torch.equal(g.inputs[0], batch["lr"][:2])
    assert torch.equal(d.inputs[1], batch["hr"][:2])  # D judges G's output, then the HR half
    d_phase.loss.backward()
    assert all(p.grad is None for p in g.parameters())
    assert set(d_phase.logs) == {"d_hinge", "d_real_global", "d_real_pixel", "d_fake_global",
                                 "d_fake_pixel"}
    torch.testing.assert_close(d_phase.loss, d_phase.logs["d_hinge"])

    g_phase = next(steps)
    assert g_phase.networks == ("g",)
    assert torch.equal(g.inputs[1], batch["lr"][2:])
    assert torch.equal(d.inputs[-1], batch["hr"][2:])  # HR features for feature matching
    logs = g_phase.logs
    assert set(logs) == {"huber", "lpips", "fm", "g_gan"}
    expected = logs["huber"] + 1e-3 * logs["lpips"] + logs["fm"] + 1e-3 * logs["g_gan"]
    torch.testing.assert_close(g_phase.loss.detach(), expected)
    assert next(steps, None) is None


def test_without_separate_batches_both_steps_see_the_whole_batch():
    g = Recording(tiny_generator())
    batch = patches(2)
    for _ in recipe(stage=2, separate_d_batch=False).phases(batch, {"g": g, "d": TinyUNet()}):
        pass
    assert [len(x) for x in g.inputs] == [2, 2]
    with pytest.raises(ValueError, match="separate_d_batch needs at least 2 samples"):
        next(recipe(stage=2).phases(patches(1), {"g": g, "d": TinyUNet()}))


def test_generator_adversarial_term_is_the_averaged_hinge_of_d_on_sr():
    g, d = tiny_generator(), TinyUNet()
    batch = patches(2)
    phase = list(recipe(stage=2, separate_d_batch=False, cutmix_probability=0.0)
                 .phases(batch, {"g": g, "d": d}))[1]
    with torch.no_grad():
        verdict = d(g(batch["lr"]))
    expected = UNetHingeLoss().generator(verdict.global_logits, verdict.pixel_logits)
    torch.testing.assert_close(phase.logs["g_gan"], expected)


@pytest.mark.parametrize("target", ["fake", "mask"])
def test_cutmix_batches_paste_hr_into_sr_and_add_the_consistency_loss(target):
    torch.manual_seed(4)  # a non-empty box
    g, d = tiny_generator(), Recording(TinyUNet())
    batch = patches(2)
    d_phase = next(recipe(stage=2, separate_d_batch=False, cutmix_probability=1.0,
                          cutmix_target=target).phases(batch, {"g": g, "d": d}))
    fake, real, mixed = d.inputs
    assert torch.equal(real, batch["hr"])
    from_real = (mixed == real).all(dim=(0, 1))
    from_fake = (mixed == fake).all(dim=(0, 1))
    assert (from_real | from_fake).all() and from_real.any() and not from_real.all()
    logs = d_phase.logs
    assert logs["d_cons"] > 0
    torch.testing.assert_close(d_phase.loss.detach(), logs["d_hinge"] + logs["d_cons"])
    with torch.no_grad():  # the hinge of D on (HR, mixed) with the chosen pixel targets
        on_real, on_mixed = d.net(real), d.net(mixed)
    mask = from_real.double().view(1, 1, *from_real.shape)
    expected = UNetHingeLoss().discriminator(
        on_real.global_logits, on_real.pixel_logits, on_mixed.global_logits,
        on_mixed.pixel_logits, mask if target == "mask" else None,
    )
    torch.testing.assert_close(logs["d_hinge"], expected)


def test_cutmix_probability_zero_never_mixes():
    d = Recording(TinyUNet())
    for seed in range(5):
        torch.manual_seed(seed)
        phases = recipe(stage=2, separate_d_batch=False, cutmix_probability=0.0).phases(
            patches(2), {"g": tiny_generator(), "d": d}
        )
        assert "d_cons" not in next(phases).logs
    assert len(d.inputs) == 5 * 2


# ------------------------------------------------------------------------ short training runs


def train_steps(
    g: nn.Module, d: nn.Module | None, iterations: int, lr: float, stepped: tuple[str, ...],
    **options,
) -> dict[str, list[float]]:
    """Run the recipe's phases on one fixed batch, stepping the networks in ``stepped`` (Adam,
    gradients clipped to 0.1 as CIPLAB); every phase's loss and logs per iteration."""
    rec = recipe(**options)
    nets = {"g": g} if d is None else {"g": g, "d": d}
    optims = {name: torch.optim.Adam(nets[name].parameters(), lr=lr) for name in stepped}
    batch = patches(4)
    history: dict[str, list[float]] = {}
    for _ in range(iterations):
        for phase in rec.phases(batch, nets):
            (name,) = phase.networks
            history.setdefault(f"{name}_loss", []).append(float(phase.loss.detach()))
            for key, value in phase.logs.items():
                history.setdefault(key, []).append(float(value))
            if name in optims:
                optims[name].zero_grad()
                phase.loss.backward()
                nn.utils.clip_grad_norm_(nets[name].parameters(), 0.1)
                optims[name].step()
    return history


def lowered(history: dict[str, list[float]], key: str, factor: float) -> tuple[float, float]:
    """The means of the first and the last five values of ``key``, asserting the drop."""
    first, last = (sum(part) / 5 for part in (history[key][:5], history[key][-5:]))
    assert last < factor * first, (key, first, last)
    return first, last


def test_a_short_stage1_run_lowers_the_huber_loss():
    history = train_steps(tiny_generator(), None, 30, 2e-3, ("g",))
    lowered(history, "huber", 0.6)


def test_a_short_stage2_run_lowers_the_generator_losses():
    torch.manual_seed(0)
    history = train_steps(tiny_generator(), TinyUNet(), 30, 2e-3, ("g", "d"), stage=2)
    lowered(history, "huber", 0.6)
    lowered(history, "g_loss", 0.8)  # Huber + feature matching + 1e-3 hinge
    assert {"d_cons", "fm", "g_gan"} <= set(history)


def test_the_discriminator_phase_lowers_its_loss_against_a_fixed_generator():
    """Hinge on both heads plus CutMix consistency (every other batch mixed, on average)."""
    torch.manual_seed(0)
    history = train_steps(tiny_generator(), TinyUNet(), 30, 5e-3, ("d",), stage=2)
    lowered(history, "d_loss", 0.7)
    assert len(history["d_cons"]) not in (0, 30)  # some batches mixed, some not


# --------------------------------------------------------------------- shipped configs, shrunk


def test_cpu_config_trains_two_iterations(shared_dir, tmp_path: Path):
    """configs/ciplab-stage1-x16-cpu.yaml, shrunk further: the generator trains and ships."""
    run_dir = tmp_path / "cpu"
    overrides = [*TWO_ITERATIONS, "data.train.patch_size=4",
                 "networks.g.options={scale: 16, features: 8, growth: 4, blocks: 1}"]
    train_shrunk("configs/ciplab-stage1-x16-cpu.yaml", run_dir, overrides)
    logged = (run_dir / "metrics.csv").read_text()
    assert "train/huber" in logged and "val/psnr_y" in logged
    assert (run_dir / "model.safetensors").is_file()


def test_stage2_config_trains_both_networks_with_cutmix(shared_dir, tmp_path, lpips_file):
    """configs/ciplab-stage2-x16.yaml, shrunk (tiny generator, the real U-Net discriminator on
    64² HR patches, 2 per step), every batch mixed: all terms are logged, both networks saved."""
    run_dir = tmp_path / "stage2"
    overrides = [
        *(o for o in TWO_ITERATIONS if not o.startswith("data.train.batch_size")),
        "data.train.batch_size=4", "data.train.patch_size=4", "networks.g.pretrained=null",
        "networks.g.options={scale: 16, features: 8, growth: 4, blocks: 1}",
        f"recipe.lpips_weights=[{lpips_file}]", "recipe.cutmix_probability=1",
    ]
    train_shrunk("configs/ciplab-stage2-x16.yaml", run_dir, overrides)
    weights, _ = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))
    assert set(weights) == {"g", "d"}
    logged = (run_dir / "metrics.csv").read_text()
    for name in ("huber", "lpips", "fm", "g_gan", "d_hinge", "d_cons"):
        assert f"train/{name}" in logged, name
