"""Reading weight files: `.safetensors`, or PyTorch pickles read with `weights_only=True` (no code
in them ever runs)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from safetensors.torch import load_file

PICKLE_SUFFIXES = (".pth", ".pt", ".model", ".ckpt")


def read_state_file(
    path: str | Path,
    *,
    what: str,
    hint: str,
    error: type[Exception],
    unwrap: bool = False,
) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file; pickles (`.pth`, `.pt`, `.model`, `.ckpt`) are read with
    `weights_only=True`. `unwrap` takes the weights out of training checkpoints (BasicSR's
    `params_ema`, then `params`; Lightning's `state_dict`).

    Every failure is one line naming the file and what it should be (`what`, `hint`): a missing
    file raises FileNotFoundError, anything else `error`.
    """
    path = Path(path)
    kind = special_file_kind(path)
    if kind is not None:
        raise error(f"{what} file {path} is {kind}; {hint}")
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found; {hint}")
    if path.suffix not in (".safetensors", *PICKLE_SUFFIXES):
        kinds = ", ".join((".safetensors", *PICKLE_SUFFIXES))
        raise error(f"{what} file {path}: use a {kinds} file; {hint}")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise error(f"cannot read {what} file {path} ({_refused_object(exc)}); {hint}") from exc
    except Exception as exc:
        raise error(f"cannot read {what} file {path} ({_unreadable(exc)}); {hint}") from exc
    if unwrap and isinstance(state, dict):
        for wrapper in ("params_ema", "params", "state_dict"):
            if isinstance(state.get(wrapper), dict):
                state = state[wrapper]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise error(f"{what} file {path} does not hold a flat state dict of tensors; {hint}")
    return state


def special_file_kind(path: Path) -> str | None:
    """"a folder" or "a device, pipe or socket" where `path` exists but is no regular file,
    else None: what to call it when it is given as a weights file."""
    if not path.exists() or path.is_file():
        return None
    return "a folder" if path.is_dir() else "a device, pipe or socket"


def _refused_object(exc: pickle.UnpicklingError) -> str:
    """Why a pickle was refused, without PyTorch's advice to load it unsafely."""
    text = " ".join(str(exc).split())
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return (
            f"the pickle holds Python code or objects ({found.group(1)}) besides tensors; "
            "srlab never runs them"
        )
    detail = re.search(r"WeightsUnpickler error: (.*?) Check the documentation", text)
    return f"not a readable PyTorch pickle: {detail.group(1) if detail else text}"


def _unreadable(exc: Exception) -> str:
    """Why a file did not load, in its first sentence (PyTorch appends paragraphs of advice);
    a pickle that fails on its first bytes only says which byte (a KeyError)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyError) or not text:
        return "not a PyTorch checkpoint: neither a zip archive nor a pickle"
    return text.split(". ")[0].rstrip(".")
