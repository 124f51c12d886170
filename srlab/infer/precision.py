"""Arithmetic precision for inference (the device itself is checked by srlab.ops.device)."""

from __future__ import annotations

import warnings

import torch


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
