"""Shared fixtures of the trainer tests."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def hr_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hr")
    rng = np.random.default_rng(0)
    for i in range(5):
        base = rng.random((26, 15, 3))  # large enough for NIQE's two 96² blocks
        img = np.kron(base, np.ones((8, 8, 1)))[:200, :112] * 255
        Image.fromarray(img.astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def _tiny_config(hr_folder: Path, **train) -> dict:
    """A seconds-long run: a 1-block EDSR at x2 on 8-pixel LR patches, validated on 2 images."""
    return {
        "name": "t",
        "scale": 2,
        "seed": 3,
        "data": {
            "train": {"hr_folder": str(hr_folder), "patch_size": 8, "batch_size": 4},
            "val": {"folder": str(hr_folder), "max_images": 2},
        },
        "networks": {
            "g": {"arch": "edsr", "options": {"blocks": 1, "features": 8},
                  "optimizer": {"lr": 1e-3}, "ema_decay": 0.9},
        },
        "train": {"iterations": 20, "checkpoint_every": 10, "val_every": 10,
                  "tensorboard": False, "log_every": 5, **train},
    }


@pytest.fixture(scope="session")
def tiny_config():
    """Builds the raw (YAML-like) config of a tiny run: tiny_config(hr_folder, **train)."""
    return _tiny_config
