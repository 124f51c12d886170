"""Fourier spectrum loss of Fast-SRFBN (Jin et al. 2020; docs/architectures.md §1.10)."""

from __future__ import annotations

import torch
from torch import nn

from srlab.losses.pixel import check_same_shape

__all__ = ["FourierLoss"]


class FourierLoss(nn.Module):
    """L1 distance between the 2-D DFT spectra of pred and target:

    F = fft2 over H, W of every channel (full two-sided, unnormalised: norm="backward"),
    loss = mean over B, C, H, W and {Re, Im} of |Re/Im F(pred) - Re/Im F(target)|,

    i.e. L1 on ``torch.view_as_real`` of the spectra (the authors' ``torch.rfft(...,
    onesided=False)``). It weights all frequencies equally, pushing the generator to restore the
    high-frequency content that pixel losses under-weight. Fast-SRFBN weights it 3e-7 on 0–255.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(pred, target, "FourierLoss")
        spectrum_pred = torch.view_as_real(torch.fft.fft2(pred, norm="backward"))
        spectrum_target = torch.view_as_real(torch.fft.fft2(target, norm="backward"))
        return (spectrum_pred - spectrum_target).abs().mean()
