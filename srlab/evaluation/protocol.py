"""The evaluation protocol of the SR literature, shared by `srlab eval`, `srlab sweep` and the
validation that runs during training, so all three score models the same way.

A model super-resolves the LR image of an :class:`~srlab.data.EvalPair` (8-bit values, as stored
LR test sets); its output is quantised to 8 bit, as saved SR images are, and scored against HR:
PSNR-Y and SSIM-Y with ``crop_border`` pixels dropped from every side (the scale, unless a
validation config says otherwise), optionally PSNR and SSIM on RGB without a crop (SRResCycGAN's
tables), NIQE on the same crop as PSNR, and LPIPS on the full image. MATLAB bicubic of the same
LR is the baseline every model must beat. See docs/metrics.md for the metrics themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from srlab import metrics
from srlab.archs import ModelSpec
from srlab.archs.calling import final_output
from srlab.data import EvalPair
from srlab.metrics.inputs import to_8bit_values
from srlab.zoo import load_model

BASELINE = "bicubic"

SuperResolver = Callable[[np.ndarray], np.ndarray]
"""H×W×3 float32 LR in 0..1 → sH×sW×3 float32 SR in 0..1 (e.g. `Upscaler.upscale_array`)."""


@dataclass(frozen=True)
class Scoring:
    """Which scores the protocol computes: always PSNR-Y and SSIM-Y with `crop_border`; `rgb`
    adds PSNR and SSIM on RGB without a crop, `niqe` NIQE (about 0.4 s per megapixel), `lpips`
    an LPIPS column computed with that module where it lies."""

    crop_border: int
    rgb: bool = False
    niqe: bool = False
    lpips: metrics.LPIPS | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Score names in table order."""
        columns = ("psnr_y", "ssim_y")
        if self.rgb:
            columns += ("psnr_rgb", "ssim_rgb")
        if self.niqe:
            columns += ("niqe",)
        if self.lpips is not None:
            columns += ("lpips",)
        return columns


@dataclass(frozen=True)
class Scores:
    """Mean scores by column name over a set of pairs, and each pair's own."""

    means: dict[str, float]
    per_image: tuple[tuple[str, dict[str, float]], ...]

    @property
    def psnr_y(self) -> float:
        return self.means["psnr_y"]

    @property
    def ssim_y(self) -> float:
        return self.means["ssim_y"]


def quantise(image: np.ndarray) -> np.ndarray:
    """A 0..1 float image as uint8, rounded exactly as the metrics round (MATLAB's im2uint8)."""
    return to_8bit_values(image).astype(np.uint8)


def from_8bit(image: np.ndarray) -> np.ndarray:
    """uint8 values as a float32 image in 0..1 (what models are given)."""
    return image.astype(np.float32) / np.float32(255)


def super_resolve(resolve: SuperResolver, lr: np.ndarray) -> np.ndarray:
    """What the protocol scores: the model's output for one LR image, quantised to 8 bit."""
    return quantise(resolve(lr))


def score_image(hr: np.ndarray, sr: np.ndarray, scoring: Scoring) -> dict[str, float]:
    """The protocol's scores of one SR image against its HR image (see the module doc)."""
    border = scoring.crop_border
    scores = {
        "psnr_y": metrics.psnr(hr, sr, crop_border=border),
        "ssim_y": metrics.ssim(hr, sr, crop_border=border),
    }
    if scoring.rgb:
        scores["psnr_rgb"] = metrics.psnr(hr, sr, y_channel=False)
        scores["ssim_rgb"] = metrics.ssim(hr, sr, y_channel=False)
    if scoring.niqe:
        scores["niqe"] = metrics.niqe(sr, crop_border=border)
    if scoring.lpips is not None:
        scores["lpips"] = metrics.lpips_distance(hr, sr, scoring.lpips)
    return scores


def score_pairs(
    pairs: Sequence[EvalPair], resolve: SuperResolver, scoring: Scoring
) -> tuple[Scores, list[np.ndarray]]:
    """Every pair super-resolved, quantised and scored; the 8-bit outputs come back too."""
    rows, outputs = [], []
    for pair in pairs:
        sr = super_resolve(resolve, pair.lr)
        rows.append((pair.name, score_image(pair.hr, sr, scoring)))
        outputs.append(sr)
    means = {c: float(np.mean([r[c] for _, r in rows])) for c in scoring.columns} if rows else {}
    return Scores(means=means, per_image=tuple(rows)), outputs


def whole_image(module: nn.Module, spec: ModelSpec, device: torch.device) -> SuperResolver:
    """Whole LR images through a network as it is (its precision, on `device`, in eval mode
    while it runs): its final output by the calling convention, clamped to 0..1."""

    @torch.inference_mode()
    def resolve(lr: np.ndarray) -> np.ndarray:
        was_training = module.training
        module.eval()
        try:
            x = torch.from_numpy(lr).permute(2, 0, 1)[None].to(device)
            sr = final_output(module, spec, x).float().clamp_(0, 1)
        finally:
            module.train(was_training)
        return sr[0].permute(1, 2, 0).cpu().numpy()

    return resolve


def bicubic(scale: int) -> SuperResolver:
    """The baseline: MATLAB bicubic (the `bicubic` model) of whole LR images."""
    model = load_model(BASELINE, scale=scale)
    return whole_image(model.module, model.spec, torch.device("cpu"))


def score_network(
    module: nn.Module,
    spec: ModelSpec,
    pairs: Sequence[EvalPair],
    device: torch.device,
    scoring: Scoring,
) -> tuple[Scores, list[np.ndarray]]:
    """A network (e.g. one being trained) scored on whole images, with its 8-bit outputs."""
    return score_pairs(pairs, whole_image(module, spec, device), scoring)


def bicubic_scores(pairs: Sequence[EvalPair], scale: int, scoring: Scoring) -> Scores:
    """The baseline's scores on the same pairs."""
    return score_pairs(pairs, bicubic(scale), scoring)[0]
