"""Periodic validation: score the generator on whole validation images (PSNR-Y, SSIM-Y)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from srlab.data.resize import imresize
from srlab.metrics import psnr, ssim
from srlab.recipes.base import as_outputs


@dataclass(frozen=True)
class ValPair:
    name: str
    lr: np.ndarray  # H×W×3 float32 in 0..1 (8-bit values, as stored evaluation LR images)
    hr: np.ndarray  # sH×sW×3 float32 in 0..1


@dataclass(frozen=True)
class ValScores:
    psnr_y: float
    ssim_y: float
    per_image: tuple[tuple[str, float, float], ...]


@torch.inference_mode()
def super_resolve(module: nn.Module, lr: np.ndarray, device: torch.device) -> np.ndarray:
    """The generator's last output for one H×W×3 image, clamped to 0..1."""
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].to(device)
    sr = as_outputs(module(x))[-1].float().clamp_(0, 1)
    return sr[0].permute(1, 2, 0).cpu().numpy()


def score(
    pairs: Sequence[ValPair], sr_images: Sequence[np.ndarray], crop_border: int
) -> ValScores:
    rows = tuple(
        (p.name, psnr(sr, p.hr, crop_border=crop_border), ssim(sr, p.hr, crop_border=crop_border))
        for p, sr in zip(pairs, sr_images, strict=True)
    )
    return ValScores(
        psnr_y=float(np.mean([r[1] for r in rows])),
        ssim_y=float(np.mean([r[2] for r in rows])),
        per_image=rows,
    )


def validate(
    module: nn.Module, pairs: Sequence[ValPair], device: torch.device, crop_border: int
) -> tuple[ValScores, list[np.ndarray]]:
    was_training = module.training
    module.eval()
    try:
        outputs = [super_resolve(module, p.lr, device) for p in pairs]
    finally:
        module.train(was_training)
    return score(pairs, outputs, crop_border), outputs


def bicubic_scores(pairs: Sequence[ValPair], scale: int, crop_border: int) -> ValScores:
    """The baseline every trained model must beat: MATLAB bicubic of the same LR images."""
    ups = [np.clip(imresize(p.lr, scale), 0, 1) for p in pairs]
    return score(pairs, ups, crop_border)
