"""SRResCGAN / SRResCycGAN training: who learns from what, mixup, and that training works."""

import pytest
import torch
import torch.nn.functional as F

from srlab.archs import ARCHITECTURES
from srlab.archs.dsgan_discriminator import DSGANDiscriminator
from srlab.archs.lr_generator import LRGenerator
from srlab.archs.srrescgan import SRResCGANGenerator
from srlab.archs.vgg_discriminator import VGGStyleDiscriminator
from srlab.recipes.cycle import CycleConfig, CycleRecipe, mixup
from srlab.zoo.loader import load_weights


def _nets(seed: int = 0) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return {
        "g": SRResCGANGenerator(features=8, blocks=2),
        "d_x": VGGStyleDiscriminator(input_size=32, features=8, high_pass=9),
        "g_lr": LRGenerator(features=8, blocks=1),
        "d_y": DSGANDiscriminator(features=8),
    }


def _batch() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    hr = F.interpolate(torch.rand(4, 3, 8, 8, generator=gen), size=32, mode="bilinear")
    lr = F.avg_pool2d(hr, 4) + 0.03 * torch.randn(4, 3, 8, 8, generator=gen)
    return {"lr": lr.clamp(0, 1), "hr": hr}


def _recipe(**options) -> CycleRecipe:
    return CycleRecipe(CycleConfig(mixup=0.0, **options))


@pytest.mark.parametrize(
    ("cycle", "order"),
    [(True, [("g",), ("g_lr",), ("d_x",), ("d_y",)]), (False, [("g",), ("d_x",)])],
)
def test_phase_order(cycle: bool, order):
    phases = list(_recipe(cycle=cycle).phases(_batch(), _nets()))
    assert [p.networks for p in phases] == order
    assert ("cycle" in phases[0].logs) is cycle


def test_the_lr_generator_phase_does_not_train_the_sr_generator():
    nets = _nets()
    phases = _recipe(cycle=True).phases(_batch(), nets)
    next(phases)
    g_lr_phase = next(phases)
    g_lr_phase.loss.backward()
    assert all(p.grad is None for p in nets["g"].parameters())
    assert any(p.grad is not None for p in nets["g_lr"].parameters())


def test_cycle_term_reaches_the_sr_generator():
    nets = _nets()
    with_cycle = next(_recipe(cycle=True, l1_weight=0, tv_weight=0, gan_weight=0)
                      .phases(_batch(), nets))
    with_cycle.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in nets["g"].parameters())


def test_mixup_blends_lr_and_hr_with_one_lambda_and_pairing():
    torch.manual_seed(0)
    lr = torch.rand(6, 3, 4, 4)
    hr = F.interpolate(lr, scale_factor=4, mode="nearest")
    mixed_lr, mixed_hr = mixup(lr, hr, probability=1.0, alpha=1.2)
    assert not torch.equal(mixed_lr, lr)
    assert torch.allclose(F.interpolate(mixed_lr, scale_factor=4, mode="nearest"), mixed_hr)
    assert mixup(lr, hr, probability=0.0, alpha=1.2) == (lr, hr)


@pytest.mark.parametrize("cycle", [False, True])
def test_a_short_run_of_each_stage_lowers_its_losses(cycle: bool, shared_dir):
    # As the recipe does, G_SR starts from the authors' perceptual pre-training: a fresh G_SR
    # barely moves, because its projection radius e^α·σ starts near zero (α = ln 2).
    nets = _nets()
    nets["g"] = SRResCGANGenerator()
    load_weights(shared_dir / "data/srrescgan-authors/g_sr_perceptual_init.safetensors",
                 nets["g"], ARCHITECTURES["srrescgan"])
    recipe = _recipe(cycle=cycle)
    optims = {k: torch.optim.Adam(n.parameters(), lr=1e-3) for k, n in nets.items()}
    batch = _batch()
    history: dict[str, list[float]] = {"l1": [], "cycle": []}
    for _ in range(15):
        for phase in recipe.phases(batch, nets):
            for name in phase.networks:
                optims[name].zero_grad()
            phase.loss.backward()
            for name in phase.networks:
                optims[name].step()
            for key in history:
                if key in phase.logs:
                    history[key].append(phase.logs[key].item())
    assert history["l1"][-1] < 0.8 * history["l1"][0]
    if cycle:
        assert history["cycle"][-1] < 0.8 * history["cycle"][0]
