"""Image-quality metrics with the SR evaluation protocol: PSNR, SSIM, MS-SSIM, NIQE and LPIPS.

Conventions (inputs, Y channel, rounding, border crop) are described in docs/metrics.md.
"""

from srlab.metrics.lpips import LPIPS, LPIPSWeightsError, lpips_distance
from srlab.metrics.msssim import ms_ssim
from srlab.metrics.niqe import niqe
from srlab.metrics.psnr_ssim import psnr, ssim

__all__ = [
    "LPIPS",
    "LPIPSWeightsError",
    "lpips_distance",
    "ms_ssim",
    "niqe",
    "psnr",
    "ssim",
]
