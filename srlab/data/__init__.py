"""Data preparation: MATLAB-exact resizing and LR degradation models."""

from srlab.data.degradations import (
    BD,
    BI,
    DN,
    JPEG,
    Compose,
    Degradation,
    RealWorld,
    RoundTo8Bit,
    make_degradation,
    modcrop,
    round_to_8bit,
)
from srlab.data.resize import imresize, output_size

__all__ = [
    "BD",
    "BI",
    "DN",
    "JPEG",
    "Compose",
    "Degradation",
    "RealWorld",
    "RoundTo8Bit",
    "imresize",
    "make_degradation",
    "modcrop",
    "output_size",
    "round_to_8bit",
]
