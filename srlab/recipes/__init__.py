"""Training recipes: one file per training procedure, holding the recipe and its config.

``RECIPES`` is the one table of them: ``recipe.kind`` → (recipe class, config class). Adding a
recipe = one new file here + one line in the table (and its module in the import).
"""

from __future__ import annotations

from typing import NamedTuple

from srlab.recipes import cycle, gan, gmgbp, pixel
from srlab.recipes.base import LossTerm, Phase, Recipe, RecipeConfig


class RecipeKind(NamedTuple):
    recipe: type[Recipe]
    config: type[RecipeConfig]


RECIPES: dict[str, RecipeKind] = {
    "pixel": RecipeKind(pixel.PixelRecipe, pixel.PixelConfig),
    "gan": RecipeKind(gan.GANRecipe, gan.GANConfig),
    "gmgbp": RecipeKind(gmgbp.GMGBPRecipe, gmgbp.GMGBPConfig),
    "cycle": RecipeKind(cycle.CycleRecipe, cycle.CycleConfig),
}
DEFAULT_KIND = "pixel"  # a config without `recipe.kind`


def build_recipe(cfg: RecipeConfig) -> Recipe:
    """The recipe that ``cfg`` configures."""
    return RECIPES[cfg.kind].recipe(cfg)


__all__ = [
    "DEFAULT_KIND",
    "RECIPES",
    "LossTerm",
    "Phase",
    "Recipe",
    "RecipeConfig",
    "RecipeKind",
    "build_recipe",
]
