"""Feature-space losses: VGG19 perceptual loss and LPIPS used as a loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from srlab.losses.pixel import L1Loss, MSELoss, check_same_shape
from srlab.losses.vgg import VGG19Features, VGGInputRange
from srlab.metrics.lpips import LPIPS

__all__ = ["LPIPSLoss", "PerceptualLoss"]

_CRITERIA = {"l1": L1Loss, "mse": MSELoss}


class PerceptualLoss(nn.Module):
    """VGG19 feature loss: sum over layers l of w_l * D(phi_l(pred), phi_l(target)).

    phi_l is the output of VGG19 layer l ("conv5_4" = before its ReLU, as ESRGAN / Fast-SRFBN /
    SRResCGAN; "relu5_4" = after), D is the mean absolute ("l1", the default) or mean squared
    ("mse") difference over all feature elements. Matching deep features rather than pixels rewards
    plausible texture over the blurry pixel-wise mean. The target's features are computed without
    gradient (the target is data); gradients reach ``pred`` only. ``input_range`` is passed to
    :class:`~srlab.losses.vgg.VGG19Features` ("raw255" reproduces the authors' 0–255 quirk).
    """

    def __init__(
        self,
        layers: Mapping[str, float],
        weights_path: str | Path,
        *,
        input_range: VGGInputRange = "unit",
        criterion: Literal["l1", "mse"] = "l1",
    ) -> None:
        super().__init__()
        if criterion not in _CRITERIA:
            raise ValueError(f"criterion must be one of {sorted(_CRITERIA)}, got {criterion!r}")
        self.layer_weights = dict(layers)
        self.vgg = VGG19Features(list(self.layer_weights), weights_path, input_range=input_range)
        self.criterion = _CRITERIA[criterion]()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(pred, target, "PerceptualLoss")
        pred_features = self.vgg(pred)
        with torch.no_grad():
            target_features = self.vgg(target)
        return sum(
            (
                weight * self.criterion(pred_features[name], target_features[name])
                for name, weight in self.layer_weights.items()
            ),
            start=pred.new_zeros(()),
        )


class LPIPSLoss(nn.Module):
    """LPIPS as a loss: mean over the batch of LPIPS(pred_n, target_n) (see srlab.metrics.lpips).

    LPIPS(x, y) = sum over layers l of mean over positions of w_l . (f_l(x) - f_l(y))^2 with
    channel-unit-normalised backbone features f_l; a learned perceptual distance that tracks human
    judgements better than pixel or raw VGG distances (CIPLAB uses it with weight 1e-3). The network
    is frozen; gradients reach both inputs. ``weights_paths`` is one combined file or a backbone
    file plus a heads file; ``input_range`` is "unit" (0..1) or "signed" (-1..1).
    """

    def __init__(
        self,
        weights_paths: str | Path | Sequence[str | Path],
        *,
        net: Literal["alex", "vgg"] = "alex",
        input_range: Literal["unit", "signed"] = "unit",
    ) -> None:
        super().__init__()
        paths = [weights_paths] if isinstance(weights_paths, str | Path) else list(weights_paths)
        self.lpips = LPIPS.from_files(*paths, net=net, input_range=input_range)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.lpips(pred, target).mean()
