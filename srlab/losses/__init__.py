"""Training losses and the registry that names them for configs.

``LOSSES`` is a plain mapping from config names (a recipe's ``losses[i].kind``) to classes,
built here without import-time registration side effects. Every entry is called as
``loss(pred, target)`` on images (``TVSquaredLoss`` is a regulariser of ``pred`` and ignores the
target), which is how a recipe's term set calls them. Losses with other inputs are for recipes
to call directly and are not registered: ``GANLoss`` takes logits and exposes ``generator``
(also its ``forward``) and ``discriminator``; ``FeatureMatchingLoss`` takes two lists of
discriminator features; ``CycleLoss`` takes an input and its round trip.
"""

from torch import nn

from srlab.losses.combine import WeightedSum
from srlab.losses.contextual import ContextualLoss, contextual_loss
from srlab.losses.fourier import FourierLoss
from srlab.losses.gan import CycleLoss, FeatureMatchingLoss, GANLoss
from srlab.losses.mixed_norm import MixedNormLoss
from srlab.losses.perceptual import LPIPSLoss, PerceptualLoss
from srlab.losses.pixel import CharbonnierLoss, HuberLoss, L1Loss, LpLoss, MSELoss
from srlab.losses.ssim import MSSSIMLoss, SSIMLoss
from srlab.losses.tv import GradientL1Loss, TVSquaredLoss

LOSSES: dict[str, type[nn.Module]] = {
    "l1": L1Loss,
    "mse": MSELoss,
    "charbonnier": CharbonnierLoss,
    "huber": HuberLoss,
    "lp": LpLoss,
    "perceptual": PerceptualLoss,
    "lpips": LPIPSLoss,
    "contextual": ContextualLoss,
    "tv_squared": TVSquaredLoss,
    "gradient_l1": GradientL1Loss,
    "fourier": FourierLoss,
    "ssim": SSIMLoss,
    "ms_ssim": MSSSIMLoss,
    "mixed_norm": MixedNormLoss,
}

__all__ = [
    "LOSSES",
    "CharbonnierLoss",
    "ContextualLoss",
    "CycleLoss",
    "FeatureMatchingLoss",
    "FourierLoss",
    "GANLoss",
    "GradientL1Loss",
    "HuberLoss",
    "L1Loss",
    "LPIPSLoss",
    "LpLoss",
    "MSELoss",
    "MSSSIMLoss",
    "MixedNormLoss",
    "PerceptualLoss",
    "SSIMLoss",
    "TVSquaredLoss",
    "WeightedSum",
    "contextual_loss",
]
