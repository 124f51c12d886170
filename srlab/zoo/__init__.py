"""Shipped models and loading of model files."""

from srlab.zoo.catalog import CATALOG, DEFAULT_MODEL, DEFAULT_SCALE, ZooEntry
from srlab.zoo.loader import (
    LoadedModel,
    ModelLoadError,
    catalogue_facts,
    load_model,
    save_model,
)

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "DEFAULT_SCALE",
    "LoadedModel",
    "ModelLoadError",
    "ZooEntry",
    "catalogue_facts",
    "load_model",
    "save_model",
]
