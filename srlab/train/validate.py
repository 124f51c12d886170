"""Periodic validation: score the generator on whole validation images (PSNR-Y, SSIM-Y)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from srlab.metrics import LPIPS, lpips_distance, niqe, psnr, ssim
from srlab.ops.resize import imresize
from srlab.recipes.base import as_outputs


@dataclass(frozen=True)
class ValPair:
    name: str
    lr: np.ndarray  # H×W×3 float32 in 0..1 (8-bit values, as stored evaluation LR images)
    hr: np.ndarray  # sH×sW×3 float32 in 0..1


@dataclass(frozen=True)
class ValScores:
    """Mean scores by metric name ("psnr_y", "ssim_y", and "niqe"/"lpips" when asked for)."""

    means: dict[str, float]
    per_image: tuple[tuple[str, dict[str, float]], ...]

    @property
    def psnr_y(self) -> float:
        return self.means["psnr_y"]

    @property
    def ssim_y(self) -> float:
        return self.means["ssim_y"]


@dataclass(frozen=True)
class Extras:
    """Optional, slower validation metrics."""

    niqe: bool = False
    lpips: LPIPS | None = None


@torch.inference_mode()
def super_resolve(module: nn.Module, lr: np.ndarray, device: torch.device) -> np.ndarray:
    """The generator's last output for one H×W×3 image, clamped to 0..1."""
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].to(device)
    sr = as_outputs(module(x))[-1].float().clamp_(0, 1)
    return sr[0].permute(1, 2, 0).cpu().numpy()


def score(
    pairs: Sequence[ValPair],
    sr_images: Sequence[np.ndarray],
    crop_border: int,
    extras: Extras = Extras(),
) -> ValScores:
    rows = []
    for p, sr in zip(pairs, sr_images, strict=True):
        values = {
            "psnr_y": psnr(sr, p.hr, crop_border=crop_border),
            "ssim_y": ssim(sr, p.hr, crop_border=crop_border),
        }
        if extras.niqe:
            values["niqe"] = niqe(sr, crop_border=crop_border)
        if extras.lpips is not None:
            values["lpips"] = lpips_distance(sr, p.hr, extras.lpips)
        rows.append((p.name, values))
    means = {k: float(np.mean([r[1][k] for r in rows])) for k in rows[0][1]} if rows else {}
    return ValScores(means=means, per_image=tuple(rows))


def validate(
    module: nn.Module,
    pairs: Sequence[ValPair],
    device: torch.device,
    crop_border: int,
    extras: Extras = Extras(),
) -> tuple[ValScores, list[np.ndarray]]:
    was_training = module.training
    module.eval()
    try:
        outputs = [super_resolve(module, p.lr, device) for p in pairs]
    finally:
        module.train(was_training)
    return score(pairs, outputs, crop_border, extras), outputs


def bicubic_scores(
    pairs: Sequence[ValPair], scale: int, crop_border: int, extras: Extras = Extras()
) -> ValScores:
    """The baseline every trained model must beat: MATLAB bicubic of the same LR images."""
    ups = [np.clip(imresize(p.lr, scale), 0, 1) for p in pairs]
    return score(pairs, ups, crop_border, extras)
