"""Atomic training checkpoints: safetensors weights per network plus one state file
(optimisers, schedulers, grad scaler, RNG and iteration), written to a temporary folder and
renamed into place, so a crash never leaves a checkpoint that looks complete but is not."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from srlab.io import atomic_write

STATE_FILE = "state.pt"
LATEST = "latest"


def checkpoint_dir(root: Path, iteration: int) -> Path:
    return root / f"iter_{iteration:08d}"


def save_checkpoint(
    root: Path,
    iteration: int,
    weights: dict[str, dict[str, torch.Tensor]],
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write `weights` (network name → state dict) and `state`, point `latest` at them and
    prune all but the newest `keep` checkpoints."""
    final = checkpoint_dir(root, iteration)
    tmp = root / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, tensors in weights.items():
        cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        # save() + write_bytes keeps the umask's permissions (save_file makes 0600 files).
        (tmp / f"{name}.safetensors").write_bytes(save(cpu))
    torch.save(state, tmp / STATE_FILE)
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write(root / LATEST, lambda p: Path(p).write_text(final.name + "\n"), overwrite=True)
    for old in sorted(root.glob("iter_*"))[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    pointer = root / LATEST
    if not pointer.exists():
        return None
    path = root / pointer.read_text().strip()
    return path if (path / STATE_FILE).exists() else None


def load_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    weights = {p.stem: load_file(p) for p in sorted(path.glob("*.safetensors"))}
    state = torch.load(path / STATE_FILE, weights_only=True)
    return weights, state


def _fsync_dir(folder: Path) -> None:
    for p in folder.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
