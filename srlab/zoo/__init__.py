"""Shipped models and loading of model files."""

from srlab.zoo.catalog import CATALOG, DEFAULT_MODEL, DEFAULT_SCALE, ZooEntry
from srlab.zoo.loader import LoadedModel, ModelLoadError, load_model, save_model

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "DEFAULT_SCALE",
    "LoadedModel",
    "ModelLoadError",
    "ZooEntry",
    "load_model",
    "save_model",
]
