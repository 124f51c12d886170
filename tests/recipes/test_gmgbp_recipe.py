"""G-MGBP's training recipe: what each term sees, and that training works."""

import pytest
import torch

from srlab.archs.gmgbp import GMGBP
from srlab.archs.gmgbp_discriminator import GMGBPDiscriminator
from srlab.recipes.gmgbp import GMGBPConfig, GMGBPRecipe, shrink


def _recipe(**options) -> GMGBPRecipe:
    return GMGBPRecipe(GMGBPConfig(**options))


def _small_generator() -> GMGBP:
    torch.manual_seed(0)
    return GMGBP(scale=4, features=8, growth=4)


def _patches() -> torch.Tensor:
    # smooth random HR patches: upscaled noise, so that the task is learnable
    coarse = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    return shrink(torch.nn.functional.interpolate(coarse, size=64, mode="bicubic"), 1).clamp(0, 1)


def test_back_projection_terms_vanish_for_perfect_outputs():
    targets = [torch.rand(1, 3, 8 << k, 8 << k) for k in range(3)]
    assert GMGBPRecipe._back_projection(targets, targets).item() == 0
    worse = [t + 0.1 for t in targets]
    # 1 + 2 + 3 shrunk comparisons, each off by exactly 0.1 (bicubic keeps constants)
    assert GMGBPRecipe._back_projection(worse, targets).item() == pytest.approx(0.6, rel=1e-5)


def test_stage1_loss_is_deterministic_and_every_level_supervised():
    g, recipe = _small_generator(), _recipe(configurations=[1, 2, 3])
    hr = _patches()
    first = next(recipe.phases({"hr": hr}, {"g": g}))
    torch.manual_seed(123)
    second = next(recipe.phases({"hr": hr}, {"g": g}))
    assert torch.equal(first.loss, second.loss)  # W = 0: no noise is drawn
    assert {"L1_l1", "L2_l1", "L3_l1", "L3_bp_w0"} <= set(first.logs)
    assert first.networks == ("g",)


def test_pixel_loss_never_sees_noise_in_stage2():
    g, d = _small_generator(), GMGBPDiscriminator(features=8, growth=4)
    recipe = _recipe(configurations=[2], perceptual=True, discriminator="d")
    hr = _patches()
    logs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        phases = list(recipe.phases({"hr": hr}, {"g": g, "d": d}))
        assert [p.networks for p in phases] == [("g",), ("d",)]
        logs.append(phases[0].logs)
    assert torch.equal(logs[0]["L2_l1"], logs[1]["L2_l1"])
    assert not torch.equal(logs[0]["L2_bp_w1"], logs[1]["L2_bp_w1"])
    assert {"L2_g_gan", "L2_bp_w1"} <= set(logs[0])


def test_discriminator_step_touches_only_the_discriminator():
    g, d = _small_generator(), GMGBPDiscriminator(features=8, growth=4)
    recipe = _recipe(configurations=[1], perceptual=True, discriminator="d")
    phases = recipe.phases({"hr": _patches()}, {"g": g, "d": d})
    next(phases)
    d_phase = next(phases)
    d_phase.loss.backward()
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())


def test_a_short_stage1_run_lowers_the_loss():
    g, recipe = _small_generator(), _recipe(configurations=[1, 2])
    opt = torch.optim.Adam(g.parameters(), lr=2e-3)
    hr = _patches()
    losses = []
    for _ in range(25):
        phase = next(recipe.phases({"hr": hr}, {"g": g}))
        opt.zero_grad()
        phase.loss.backward()
        opt.step()
        losses.append(phase.loss.item())
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="level counts"):
        _recipe(configurations=[0, 2])
    g, recipe = _small_generator(), _recipe(configurations=[3])
    with pytest.raises(ValueError, match="multiples of 8"):
        next(recipe.phases({"hr": torch.rand(1, 3, 36, 36)}, {"g": g}))
