"""Reading user-supplied weight files (torchvision/lpips `.pth` or `.safetensors` state dicts)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file


def read_state_file(
    path: str | Path, *, what: str, hint: str, error: type[Exception]
) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file, `.pth`/`.pt` read with `weights_only=True`.

    Every failure is one line naming the file and what it should be (`what`, `hint`): a missing
    file raises FileNotFoundError, anything else `error`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found; {hint}")
    if path.suffix not in (".safetensors", ".pth", ".pt"):
        raise error(f"{what} file {path}: use a .pth, .pt or .safetensors file; {hint}")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())
        raise error(f"cannot read {what} file {path} ({reason}); {hint}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise error(f"{what} file {path} does not hold a flat state dict of tensors; {hint}")
    return state
