"""Reading the authors' fixtures in ../shared/data/*-authors/: their key lists, and the formula
weights built from them (see those READMEs), which our modules load through a key map."""

import json
from pathlib import Path

import numpy as np
import torch


def listed_shapes(keys_file: Path) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor in a keys file (`name [d0, d1, ...] notes`)."""
    shapes = {}
    for line in keys_file.read_text().splitlines():
        name, rest = line.split(" ", 1)
        shapes[name] = tuple(json.loads(rest[: rest.index("]") + 1]))
    return shapes


def formula_state(keys_file: Path, gain: float, built: dict[str, torch.Tensor]) -> dict:
    """Every tensor of the keys file by the formula; `built` supplies the "as built" ones."""
    state = {}
    for k, line in enumerate(keys_file.read_text().splitlines()):
        name, rest = line.split(" ", 1)
        shape = tuple(json.loads(rest[: rest.index("]") + 1]))
        n = int(np.prod(shape)) if shape else 1
        if "kept as built" in rest or name.endswith("num_batches_tracked"):
            state[name] = built[name]
            continue
        b = np.sin(12.9898 * np.arange(n, dtype=np.float64) + 78.233 * k).reshape(shape)
        if name.endswith("running_var"):
            value = 1 + 0.5 * b**2
        elif len(shape) == 1 and name.endswith(("weight", "gamma")):
            value = 0.5 + 0.25 * b
        elif len(shape) >= 2:
            value = gain * b / np.sqrt(np.prod(shape[1:]))
        else:
            value = 0.01 * b
        state[name] = torch.from_numpy(value).float()
    return state
