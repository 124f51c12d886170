"""The steps of the page's W slider: fine near 0, where G-MGBP's picture changes most.

docs/models.md measures the sweep of gmgbp-r3 at x4: nothing moves up to W = 0.005, 88 % of
the PSNR change happens between 0.005 and 0.03, and beyond 0.1 both PSNR and NIQE are flat.
The slider spends most of its positions there.
"""

from __future__ import annotations

W_STEPS: tuple[float, ...] = (
    0.0, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03,
    0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0,
)  # fmt: skip


def step_of(noise: float) -> int | None:
    """The slider position of an amplitude, or None when W is not one of the steps."""
    for index, value in enumerate(W_STEPS):
        if abs(value - noise) < 1e-9:
            return index
    return None


def neighbour_steps(index: int, reach: int = 2) -> list[int]:
    """Slider positions around `index`, nearest first (both sides before going further)."""
    around = []
    for distance in range(1, reach + 1):
        for candidate in (index + distance, index - distance):
            if 0 <= candidate < len(W_STEPS):
                around.append(candidate)
    return around
