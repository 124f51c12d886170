"""Training recipes: one file per training procedure, chosen by `recipe.kind`."""

from __future__ import annotations

from torch import nn

from srlab.recipes.cycle import CycleRecipe
from srlab.recipes.gan import GANRecipe
from srlab.recipes.gmgbp import GMGBPRecipe
from srlab.recipes.pixel import PixelRecipe
from srlab.train.schema import RecipeConfig


def build_recipe(cfg: RecipeConfig) -> nn.Module:
    if cfg.kind == "gan":
        return GANRecipe(cfg)
    if cfg.kind == "gmgbp":
        return GMGBPRecipe(cfg)
    if cfg.kind == "cycle":
        return CycleRecipe(cfg)
    return PixelRecipe(cfg)


__all__ = ["CycleRecipe", "GANRecipe", "GMGBPRecipe", "PixelRecipe", "build_recipe"]
