"""The one device check of srlab, shared by inference, evaluation and training."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """A torch device from a user string ("cpu", "cuda", "cuda:1"), failing in one line when it
    is malformed, of another kind, or CUDA is asked for but PyTorch sees no GPU."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {name!r} (use 'cpu' or 'cuda')") from err
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r} (use 'cpu' or 'cuda')")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but no CUDA GPU is available to PyTorch")
    return device
