"""Patch planners: which crops make up global batch number b, as a pure function of (seed, b).

A planner has no state that changes while training, so the stream of batches can start at any
batch (exact resume) and every DDP rank can plan the same global batch and keep its slice.
Random numbers come from ``numpy.random.default_rng([seed, purpose, n])``: one independent
stream per batch (and per epoch for the uniform planner's image order).

- :class:`UniformPlanner`: every image once per epoch in a shuffled order, random crops.
- :class:`RFSPlanner`: BSR's Random Filter Sampling (Kong 2020; docs/training.md), which fills
  equal quotas of patches per interval of information content (:func:`pic`), over-sampling rare
  detailed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from srlab.data.augment import ALL_TRANSFORMS
from srlab.data.pairs import PairSource, SampleRequest

__all__ = ["PatchPlanner", "RFSPlanner", "UniformPlanner", "pic", "pic_edges"]

_EPOCH, _BATCH, _CALIBRATION = 0, 1, 2  # purposes: independent random streams per seed
_SEED_LIMIT = 2**63  # per-sample degradation seeds are drawn in [0, 2**63)


class PatchPlanner(Protocol):
    """Plans global batches of sample requests; ``patch_size`` is the LR patch side."""

    patch_size: int

    def plan(self, batch_index: int, batch_size: int, source: PairSource) -> list[SampleRequest]:
        """The ``batch_size`` requests of global batch ``batch_index``; depends on nothing else
        than the planner's settings, ``batch_index``, ``batch_size`` and the source's images."""
        ...


def _rng(seed: int, purpose: int, n: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, purpose, n])


def _check_settings(seed: int, patch_size: int, transforms: Sequence[int]) -> None:
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if patch_size < 1:
        raise ValueError(f"patch_size must be positive, got {patch_size}")
    if not transforms or not set(transforms) <= set(ALL_TRANSFORMS):
        raise ValueError(f"transforms must be a non-empty subset of 0..7, got {transforms!r}")


def _random_crops(
    rng: np.random.Generator,
    source: PairSource,
    images: np.ndarray,
    patch_size: int,
    transforms: Sequence[int],
) -> list[SampleRequest]:
    """One request per entry of ``images``: uniform crop position, transform and seed."""
    sizes = np.array([source.lr_size(int(i)) for i in images]).reshape(-1, 2)
    tops = rng.integers(0, sizes[:, 0] - patch_size + 1)
    lefts = rng.integers(0, sizes[:, 1] - patch_size + 1)
    picks = rng.integers(0, len(transforms), size=len(images))
    seeds = rng.integers(0, _SEED_LIMIT, size=len(images))
    return [
        SampleRequest(int(i), int(t), int(left), patch_size, transforms[k], int(s))
        for i, t, left, k, s in zip(images, tops, lefts, picks, seeds, strict=True)
    ]


@dataclass(frozen=True)
class UniformPlanner:
    """Each epoch visits every image once in a fresh random order; the crop is uniform.

    Global sample g = batch_index * batch_size + k is image perm_e[g mod n] of epoch
    e = g // n, so epochs run across batch boundaries and every image is seen equally often.
    """

    seed: int
    patch_size: int
    transforms: tuple[int, ...] = ALL_TRANSFORMS

    def __post_init__(self) -> None:
        _check_settings(self.seed, self.patch_size, self.transforms)

    def plan(self, batch_index: int, batch_size: int, source: PairSource) -> list[SampleRequest]:
        n = len(source)
        first = batch_index * batch_size
        epochs = range(first // n, (first + batch_size - 1) // n + 1)
        order = np.concatenate([_rng(self.seed, _EPOCH, e).permutation(n) for e in epochs])
        start = first - epochs[0] * n
        images = order[start : start + batch_size]
        rng = _rng(self.seed, _BATCH, batch_index)
        return _random_crops(rng, source, images, self.patch_size, self.transforms)


def pic(lr: np.ndarray) -> np.ndarray:
    """Patch information content of N x C x H x W patches in 0..1 (BSR, Kong 2020): the Sobel
    gradient magnitude on 0-255 values over the valid region, summed over channels and pixels."""
    x = np.asarray(lr, dtype=np.float32)
    rows = x[..., :-2, :] + 2 * x[..., 1:-1, :] + x[..., 2:, :]  # vertical smoothing
    cols = x[..., :, :-2] + 2 * x[..., :, 1:-1] + x[..., :, 2:]  # horizontal smoothing
    gx = rows[..., :, 2:] - rows[..., :, :-2]
    gy = cols[..., 2:, :] - cols[..., :-2, :]
    magnitude = np.sqrt(gx * gx + gy * gy)  # float32 is plenty: PIC only picks an interval
    return 255 * magnitude.sum(axis=(-3, -2, -1), dtype=np.float64)  # linear in the scale


def _pic_of(source: PairSource, requests: Sequence[SampleRequest]) -> np.ndarray:
    return pic(source.lr_batch(requests))


def pic_edges(
    source: PairSource,
    patch_size: int,
    *,
    seed: int,
    intervals: int = 4,
    samples: int = 10_000,
) -> tuple[float, ...]:
    """RFS interval edges (``intervals`` + 1 PIC values): equal width in log(1 + PIC) between
    the 1st and 99th percentile of PIC over ``samples`` random calibration patches.

    Equal-population (quantile) intervals would make RFS uniform sampling, hence equal width.
    Run it once, before the loader starts its workers, and pass the edges to :class:`RFSPlanner`.
    """
    if intervals < 1 or samples < 2:
        raise ValueError(f"need intervals >= 1 and samples >= 2, got {intervals}, {samples}")
    source.check_fits(patch_size)
    rng = _rng(seed, _CALIBRATION)
    images = rng.integers(0, len(source), size=samples)
    values = np.concatenate(
        [
            _pic_of(source, _random_crops(rng, source, chunk, patch_size, (0,)))
            for chunk in np.array_split(images, -(-samples // 256))
        ]
    )
    low, high = np.log1p(np.percentile(values, [1, 99]))
    return tuple(float(v) for v in np.expm1(np.linspace(low, high, intervals + 1)))


@dataclass(frozen=True)
class RFSPlanner:
    """BSR's Random Filter Sampling: equal quotas of patches per PIC interval.

    Each round draws ``candidates`` random (image, crop) pairs, images uniform with replacement,
    scores their LR patches with :func:`pic` and keeps those whose interval still has room
    (PIC below or above the edges counts in the first or last interval). After ``max_rounds``
    rounds the unfilled places take uniform random crops (termination guard). Quotas are
    batch_size // k each, the remainder going to the highest intervals; the kept patches are
    shuffled so every DDP rank's slice mixes intervals.
    """

    seed: int
    patch_size: int
    edges: tuple[float, ...]
    transforms: tuple[int, ...] = ALL_TRANSFORMS
    candidates: int = 32
    max_rounds: int = 50

    def __post_init__(self) -> None:
        _check_settings(self.seed, self.patch_size, self.transforms)
        if len(self.edges) < 2 or list(self.edges) != sorted(self.edges):
            raise ValueError(f"edges must be at least 2 increasing values, got {self.edges!r}")
        if self.candidates < 1 or self.max_rounds < 1:
            raise ValueError("candidates and max_rounds must be positive")

    def quotas(self, batch_size: int) -> np.ndarray:
        """Patches per interval in a batch of ``batch_size``."""
        k = len(self.edges) - 1
        quotas = np.full(k, batch_size // k)
        quotas[k - batch_size % k :] += 1  # an empty slice when k divides batch_size
        return quotas

    def interval(self, values: np.ndarray) -> np.ndarray:
        """Interval index of each PIC value (values outside the edges go to the end ones)."""
        return np.searchsorted(np.asarray(self.edges[1:-1]), values, side="right")

    def plan(self, batch_index: int, batch_size: int, source: PairSource) -> list[SampleRequest]:
        rng = _rng(self.seed, _BATCH, batch_index)
        room = self.quotas(batch_size)
        kept: list[SampleRequest] = []
        for _ in range(self.max_rounds):
            images = rng.integers(0, len(source), size=self.candidates)
            drawn = _random_crops(rng, source, images, self.patch_size, self.transforms)
            for request, i in zip(drawn, self.interval(_pic_of(source, drawn)), strict=True):
                if room[i] > 0:
                    room[i] -= 1
                    kept.append(request)
            if len(kept) == batch_size:
                break
        else:
            images = rng.integers(0, len(source), size=batch_size - len(kept))
            kept += _random_crops(rng, source, images, self.patch_size, self.transforms)
        return [kept[i] for i in rng.permutation(batch_size)]
