"""SSIM and MS-SSIM losses (1 - SSIM, 1 - MS-SSIM), differentiable, on N x C x H x W batches.

Window and constants follow the evaluation protocol (docs/metrics.md, docs/architectures.md §1.4):
normalised 11 x 11 Gaussian window, sigma = 1.5, C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L the data
range (1.0 for 0..1 images, 255 for 0..255), "valid" filtering (no padding: the maps are
(H - 10) x (W - 10)). With local means mu, variances s^2 and covariance s_xy (all
Gaussian-weighted):

  cs(x, y)   = (2 s_xy + C2) / (s_x^2 + s_y^2 + C2)              (contrast-structure)
  SSIM(x, y) = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) * cs(x, y)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from srlab.losses.pixel import check_same_shape

__all__ = ["MS_SSIM_WEIGHTS", "MSSSIMLoss", "SSIMLoss", "ssim_maps"]

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_1d(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    t = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Valid filtering of every channel with the separable window g (x) g."""
    n, c, h, w = x.shape
    x = F.conv2d(x.reshape(n * c, 1, h, w), g.view(1, 1, -1, 1))
    x = F.conv2d(x, g.view(1, 1, 1, -1))
    return x.reshape(n, c, *x.shape[-2:])


def ssim_maps(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid SSIM and contrast-structure maps, each N x C x (H - w + 1) x (W - w + 1)."""
    check_same_shape(x, y, "SSIM")
    if x.ndim != 4 or min(x.shape[-2:]) < window_size:
        raise ValueError(
            f"SSIM needs N x C x H x W inputs with H, W >= {window_size}, got {tuple(x.shape)}"
        )
    g = _gaussian_1d(window_size, sigma, x)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_x, mu_y = _blur(x, g), _blur(y, g)
    var_x = _blur(x * x, g) - mu_x**2
    var_y = _blur(y * y, g) - mu_y**2
    cov = _blur(x * y, g) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return luminance * cs, cs


class SSIMLoss(nn.Module):
    """1 - SSIM(pred, target), SSIM = mean of the valid SSIM map over batch, channels, positions.

    A structural (local mean, contrast, correlation) fidelity term, closer to perceived quality
    than MSE; SRResCycGAN's AIM 2020 fine-tuning uses it on 0..1 RGB (Umer & Micheloni 2020;
    docs/architectures.md §1.11).
    """

    def __init__(self, *, data_range: float = 1.0, window_size: int = 11, sigma: float = 1.5):
        super().__init__()
        self.data_range = data_range
        self.window_size = window_size
        self.sigma = sigma

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ssim, _ = ssim_maps(
            pred, target, data_range=self.data_range, window_size=self.window_size, sigma=self.sigma
        )
        return 1 - ssim.mean()


def _positive_pow(values: torch.Tensor, exponent: float) -> torch.Tensor:
    """max(v, 0)^exponent with a zero (not NaN) gradient where v <= 0."""
    tiny = torch.finfo(values.dtype).tiny
    return torch.where(values > 0, values.clamp(min=tiny) ** exponent, 0.0)


class MSSSIMLoss(nn.Module):
    """1 - MS-SSIM(pred, target) (Wang, Simoncelli and Bovik 2003).

    Per image and channel, with M = len(weights) scales (standard 5, weights b_1..b_M) and 2 x 2
    average pooling between scales (odd last row/column dropped):
      MS-SSIM = prod_(s < M) relu(mean cs_s)^b_s * relu(mean SSIM_M)^b_M,
    then averaged over batch and channels (channels are separate images, as in
    :func:`srlab.metrics.ms_ssim` RGB mode). Means are over the valid maps. The relu (as
    torchmetrics' ``normalize="relu"`` and pytorch_msssim) keeps fractional powers of negative
    means from producing NaN early in training; such a factor then contributes 0 and no gradient.
    Each side must be at least window_size * 2^(M-1) (176 px for the defaults).
    """

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
        window_size: int = 11,
        sigma: float = 1.5,
    ) -> None:
        super().__init__()
        if not weights:
            raise ValueError("MS-SSIM needs at least one scale weight")
        self.data_range = data_range
        self.weights = tuple(weights)
        self.window_size = window_size
        self.sigma = sigma

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(pred, target, "MSSSIMLoss")
        min_side = self.window_size * 2 ** (len(self.weights) - 1)
        if pred.ndim != 4 or min(pred.shape[-2:]) < min_side:
            raise ValueError(
                f"MS-SSIM with {len(self.weights)} scales and a {self.window_size}-px window needs "
                f"N x C x H x W inputs with H, W >= {min_side}, got {tuple(pred.shape)}"
            )
        value = pred.new_ones(pred.shape[:2])
        for scale, weight in enumerate(self.weights):
            if scale:
                pred, target = F.avg_pool2d(pred, 2), F.avg_pool2d(target, 2)
            ssim, cs = ssim_maps(
                pred,
                target,
                data_range=self.data_range,
                window_size=self.window_size,
                sigma=self.sigma,
            )
            term = ssim if scale == len(self.weights) - 1 else cs
            value = value * _positive_pow(term.mean(dim=(2, 3)), weight)
        return 1 - value.mean()
