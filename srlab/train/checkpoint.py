"""Atomic training checkpoints: safetensors weights per network plus one state file
(optimisers, schedulers, grad scaler, RNG and iteration), written to a temporary folder and
renamed into place, so a crash never leaves a checkpoint that looks complete but is not.

Reading never executes code from a file: weights are safetensors and the state file is read
with ``torch.load(weights_only=True)``. A checkpoint damaged later (a truncated copy, a disk
error, a file replaced by a malicious pickle) raises CheckpointError, and :func:`resume_order`
lists the older ones to fall back to.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from srlab.io import atomic_write
from srlab.train.messages import first_line

STATE_FILE = "state.pt"
LATEST = "latest"
_NAME = re.compile(r"iter_\d{8}")
_STATE_PARTS = ("optimizer", "scheduler", "scaler")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or used, or none left to resume from."""


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
    """The checkpoint that `latest` names, if it has its state file."""
    path = _named_by_pointer(root)
    return path if path is not None and (path / STATE_FILE).exists() else None


def resume_order(root: Path) -> list[Path]:
    """The checkpoints to try when resuming: the one `latest` names, then the others newest
    first (so a damaged newest checkpoint falls back to the one before it)."""
    found = sorted(
        (p for p in root.glob("iter_*") if _NAME.fullmatch(p.name) and p.is_dir()), reverse=True
    )
    named = _named_by_pointer(root)
    return [named, *(p for p in found if p != named)] if named in found else found


def load_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """The weights (network name → tensors) and state of checkpoint ``path``; CheckpointError
    naming it when a file is missing, truncated, not data, or the state lacks a part."""
    if not (path / STATE_FILE).is_file():
        raise CheckpointError(f"{path}: incomplete checkpoint (no {STATE_FILE})")
    try:
        weights = {p.stem: load_file(p) for p in sorted(path.glob("*.safetensors"))}
        with warnings.catch_warnings():  # torch's remarks on foreign pickles: our error says it
            warnings.simplefilter("ignore")
            state = torch.load(path / STATE_FILE, weights_only=True)
    except Exception as exc:  # decoders of damaged files raise almost any exception type
        raise CheckpointError(f"{path}: unreadable checkpoint ({first_line(exc)})") from exc
    problem = _state_problem(state)
    if problem:
        raise CheckpointError(f"{path}: {STATE_FILE} {problem}")
    return weights, state


def _named_by_pointer(root: Path) -> Path | None:
    """The checkpoint folder that `latest` names; None when absent or not a checkpoint name."""
    try:
        name = (root / LATEST).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return root / name if _NAME.fullmatch(name) else None


def _state_problem(state: Any) -> str | None:
    """What is wrong with a loaded state, or None."""
    if not isinstance(state, dict):
        return "is not a mapping"
    iteration = state.get("iteration")
    if not isinstance(iteration, int) or isinstance(iteration, bool) or iteration < 0:
        return f"has no valid iteration ({iteration!r})"
    rng = state.get("rng")
    if not isinstance(rng, dict) or not isinstance(rng.get("torch"), torch.Tensor):
        return "has no random generator state"
    missing = [part for part in _STATE_PARTS if not isinstance(state.get(part), dict)]
    return f"lacks {', '.join(missing)}" if missing else None


def _fsync_dir(folder: Path) -> None:
    for p in folder.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
