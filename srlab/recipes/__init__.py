"""Training recipes: one file per training procedure, holding the recipe and its config.

Each file ends with ``RECIPE = RecipeKind(TheRecipe, TheConfig)``; ``RECIPES``, the one table
``recipe.kind`` → (recipe class, config class), is the plain list of those files below, so adding
a recipe is one new file plus one line here (docs/contributing.md walks through it).
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType

from srlab.recipes.base import LossTerm, Phase, Recipe, RecipeConfig, RecipeKind

_FILES = (
    "pixel",
    "gan",
    "gmgbp",
    "cycle",
    "ciplab",
)


def _table() -> MappingProxyType[str, RecipeKind]:
    entries = [import_module(f"{__name__}.{file}").RECIPE for file in _FILES]
    return MappingProxyType({entry.kind: entry for entry in entries})


RECIPES: MappingProxyType[str, RecipeKind] = _table()
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
