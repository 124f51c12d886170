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


def splitmix_uniform(seed: int, n: int) -> np.ndarray:
    """n values of splitmix64 seeded with `seed`, scaled to [-1, 1) (exact in float64)."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0


def hash_formula_state(keys_file: Path, gain: float) -> dict[str, torch.Tensor]:
    """The splitmix64 formula weights of a keys file (../shared/data/srvgg-realesrgan/README.md):
    line k seeds tensor k. Entries marked "unused by the forward pass" still count for the line
    numbers but are left out; integer tensors (`num_batches_tracked`) are zero, as built."""
    state = {}
    for k, line in enumerate(keys_file.read_text().splitlines()):
        name, rest = line.split(" ", 1)
        if "unused by the forward pass" in rest:
            continue
        shape = tuple(json.loads(rest[: rest.index("]") + 1]))
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(0)
            continue
        u = splitmix_uniform(k, int(np.prod(shape))).reshape(shape)
        if name.endswith("running_var"):
            value = 1 + 0.5 * (u * u)
        elif len(shape) == 1 and name.endswith("weight"):
            value = 0.5 + 0.25 * u
        elif len(shape) >= 2:
            value = ((gain * np.sqrt(3)) * u) / np.sqrt(np.prod(shape[1:]))
        else:
            value = 0.1 * u
        state[name] = torch.from_numpy(value).float()
    return state
