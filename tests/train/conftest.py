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
