"""The recipe table: each recipe owns its config, which the loader picks by `recipe.kind` and
which checks its own keys with dotted-path errors. (The layering between recipes and train is
checked by tests/test_style.py.)"""

from pathlib import Path
from typing import Any

import pytest
import torch

from srlab.config import ConfigError, dump_yaml, load_config
from srlab.losses import LOSSES
from srlab.recipes import DEFAULT_KIND, RECIPES, LossTerm, Recipe, RecipeConfig
from srlab.recipes.base import TermSet
from srlab.recipes.cycle import CycleConfig
from srlab.recipes.gmgbp import GMGBPConfig
from srlab.recipes.pixel import PixelConfig
from srlab.train.schema import ExperimentConfig


def experiment(recipe: dict[str, Any] | None, networks: tuple[str, ...] = ("g",)) -> dict:
    """A raw run config around ``recipe`` (None: no recipe section) with these networks."""
    raw: dict[str, Any] = {
        "name": "r",
        "scale": 2,
        "data": {"train": {"hr_folder": "hr"}},
        "networks": {name: {"arch": "edsr"} for name in networks},
        "train": {"iterations": 1},
    }
    if recipe is not None:
        raw["recipe"] = recipe
    return raw


def error(raw: dict, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, raw, overrides)
    return str(info.value)


def test_each_table_entry_pairs_a_recipe_with_its_own_config():
    for kind, entry in RECIPES.items():
        assert issubclass(entry.recipe, Recipe) and issubclass(entry.config, RecipeConfig)
        assert entry.config().kind == kind
    assert DEFAULT_KIND in RECIPES


def test_the_section_is_read_as_the_config_of_its_kind():
    cycle = load_config(ExperimentConfig, experiment({"kind": "cycle", "cycle": False},
                                                     ("g", "d_x"))).recipe
    assert cycle == CycleConfig(cycle=False)
    gmgbp = load_config(ExperimentConfig, experiment({"kind": "gmgbp"}),
                        ["recipe.configurations=[2]", "recipe.l1_weight=1e-1"]).recipe
    assert gmgbp == GMGBPConfig(configurations=[2], l1_weight=0.1)
    assert load_config(ExperimentConfig, experiment(None)).recipe == PixelConfig()
    assert load_config(ExperimentConfig, experiment({"losses": [{"kind": "mse"}]})).recipe == (
        PixelConfig(losses=[LossTerm("mse")])
    )


@pytest.mark.parametrize(
    ("kind", "networks"),
    [
        ("pixel", ("g",)),
        ("gan", ("g", "d")),
        ("gmgbp", ("g",)),
        ("cycle", ("g", "d_x", "g_lr", "d_y")),
    ],
)
def test_resolved_configs_round_trip(kind: str, networks: tuple[str, ...], tmp_path: Path):
    cfg = load_config(ExperimentConfig, experiment({"kind": kind}, networks))
    file = tmp_path / "resolved.yaml"
    file.write_text(dump_yaml(cfg))
    assert load_config(ExperimentConfig, file) == cfg
    assert type(cfg.recipe) is RECIPES[kind].config


@pytest.mark.parametrize(
    ("recipe", "networks", "message"),
    [
        ({"kind": "gmgbp", "l1_weight": "big"}, ("g",),
         "recipe.l1_weight: expected float, got 'big'"),
        ({"kind": "gmgbp", "configurations": [0, 2]}, ("g",),
         "recipe.configurations: must be level counts >= 1, got [0, 2]"),
        ({"kind": "gmgbp", "perceptual": True, "discriminator": "dd"}, ("g", "d"),
         "recipe.discriminator: 'dd' is not one of the networks (g, d)"),
        ({"kind": "pixel", "configurations": [1]}, ("g",),
         "recipe.configurations: unknown key"),
        ({"kind": "gan", "gan_los": "hinge"}, ("g", "d"),
         "recipe.gan_los: unknown key (did you mean 'gan_loss'?)"),
        ({"kind": "gan", "gan_loss": "wgan"}, ("g", "d"),
         "recipe.gan_loss: expected one of 'vanilla', 'lsgan', 'hinge', 'hinge_ciplab', 'ragan',"
         " got 'wgan'"),
        ({"kind": "gan"}, ("g",), "recipe.discriminator: 'd' is not one of the networks (g)"),
        ({"kind": "cycle"}, ("g", "d_x"),
         "recipe.lr_generator: 'g_lr' is not one of the networks (g, d_x)"),
        ({"kind": "cycle", "mixup": 2}, ("g", "d_x", "g_lr", "d_y"),
         "recipe.mixup: must be a probability in 0..1, got 2.0"),
        ({"kind": "pixel", "generator": "net"}, ("g",),
         "recipe.generator: 'net' is not one of the networks (g)"),
        ({"kind": "wgan"}, ("g",),
         "recipe.kind: expected one of 'pixel', 'gan', 'gmgbp', 'cycle', 'ciplab', got 'wgan'"),
        ({"losses": [{"kind": "l1"}, {"kind": "l1"}]}, ("g",),
         "recipe.losses: each loss kind may appear once, got ['l1', 'l1']"),
        ({"losses": []}, ("g",), "recipe.losses: needs at least one loss term"),
        ("pixel", ("g",), "recipe: expected a mapping, got 'pixel'"),
    ],
)
def test_recipe_errors_name_the_dotted_path(recipe, networks, message):
    assert error(experiment(recipe, networks)) == message


def test_unknown_loss_kinds_are_refused_at_load():
    message = error(experiment({"losses": [{"kind": "l1"}, {"kind": "l3"}]}))
    assert message.startswith("recipe.losses[1].kind: unknown loss 'l3' (known: l1, mse,")


def test_overrides_of_recipe_keys_get_the_same_errors():
    raw = experiment({"kind": "gmgbp"})
    heavy = error(raw, ("recipe.l1_weight=heavy",))
    assert heavy == "recipe.l1_weight: expected float, got 'heavy'"
    assert error(raw, ("recipe.kind=cycle",)) == (
        "recipe.hr_discriminator: 'd_x' is not one of the networks (g)"
    )


def test_every_registered_loss_is_callable_by_the_term_set(tmp_path, random_vgg_state):
    from safetensors.torch import save_file

    from srlab.metrics import LPIPS

    vgg = tmp_path / "vgg19.safetensors"
    save_file(random_vgg_state(), vgg)
    torch.manual_seed(0)
    lpips = tmp_path / "lpips_alex.pth"
    torch.save(LPIPS("alex").state_dict(), lpips)
    options = {
        "perceptual": {"layers": {"conv2_2": 1.0}, "weights_path": str(vgg)},
        "contextual": {"weights_path": str(vgg), "max_positions": 256},
        "lpips": {"weights_paths": [str(lpips)]},
    }
    pred = torch.rand(2, 3, 176, 176, requires_grad=True)  # MS-SSIM's five scales need > 160 px
    target = torch.rand(2, 3, 176, 176)
    for kind in LOSSES:
        terms = TermSet([LossTerm(kind, options=options.get(kind, {}))])
        loss, logs = terms(pred, target)
        assert loss.ndim == 0 and torch.isfinite(loss), kind
        assert set(logs) == {kind}
        (grad,) = torch.autograd.grad(loss, pred)
        assert grad.abs().sum() > 0, kind


def test_bad_loss_options_name_the_term():
    with pytest.raises(ConfigError, match=r"^losses\[0\]\.options: cannot build 'l1': "):
        TermSet([LossTerm("l1", options={"strength": 2})])
