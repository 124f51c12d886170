"""Device and arithmetic precision for inference."""

from __future__ import annotations

import warnings

import torch


def resolve_device(name: str) -> torch.device:
    """A torch device from a user string, failing clearly when CUDA is asked for but absent."""
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"unknown device {name!r} (use 'cpu' or 'cuda')") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available to PyTorch")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r} (use 'cpu' or 'cuda')")
    return device


def cpu_supports_bf16() -> bool:
    """True when oneDNN has native bfloat16 kernels on this CPU (AVX512-BF16 or AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def inference_dtype(
    device: torch.device, half: bool | None, half_safe: bool = False
) -> torch.dtype:
    """float16 on CUDA and bfloat16 on capable CPUs when `half`, else float32 (with a warning
    when half precision was asked for but would only be emulated).

    `half=None` decides for the model: bfloat16 on CPUs with native support when the model is
    `half_safe` (measured to lose nothing visible in it), float32 otherwise.
    """
    if half is None:
        native = device.type == "cpu" and cpu_supports_bf16()
        return torch.bfloat16 if half_safe and native else torch.float32
    if not half:
        return torch.float32
    if device.type == "cuda":
        return torch.float16
    if cpu_supports_bf16():
        return torch.bfloat16
    warnings.warn(
        "--half: this CPU has no native bfloat16 support; running in float32 instead",
        stacklevel=2,
    )
    return torch.float32
