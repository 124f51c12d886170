"""Patch planners: which crops make up global batch number b, as a pure function of (seed, b).

A planner has no state that changes while training, so the stream of batches can start at any
batch (exact resume) and every DDP rank can plan the same global batch and keep its slice.
Random numbers come from ``numpy.random.default_rng([seed, purpose, n])``: one independent
stream per batch (and per epoch for the uniform planner's image order).

- :class:`UniformPlanner`: every image once per epoch in a shuffled order, random crops.
- :class:`RFSPlanner`: BSR's Random Filter Sampling (Kong 2020; docs/training.md), which fills
  equal quotas of patches per interval of information content (:func:`pic`); the intervals
  (:func:`pic_edges`) get rarer toward the detailed end, so rare detailed patches are
  over-sampled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from srlab.data.augment import ALL_TRANSFORMS
from srlab.data.pairs import PairSource, SampleRequest

__all__ = ["PatchPlanner", "RFSPlanner", "UniformPlanner", "interval_masses", "pic", "pic_edges"]

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


def interval_masses(intervals: int, tilt: float) -> np.ndarray:
    """Share of uniformly sampled patches in each RFS interval, flat to detailed: each interval
    is ``tilt`` times rarer than the one below it (tilt 1: equal shares, i.e. uniform sampling)."""
    if intervals < 1 or not tilt >= 1:
        raise ValueError(f"need intervals >= 1 and tilt >= 1, got {intervals}, {tilt}")
    masses = float(tilt) ** -np.arange(intervals, dtype=np.float64)
    return masses / masses.sum()


def pic_edges(
    source: PairSource,
    patch_size: int,
    *,
    seed: int,
    intervals: int = 4,
    tilt: float = 2.0,
    samples: int = 10_000,
) -> tuple[float, ...]:
    """RFS interval edges (``intervals`` + 1 PIC values): quantiles of PIC over ``samples``
    uniformly drawn calibration patches, at the cumulative :func:`interval_masses`.

    With equal quotas per interval, interval i is then sampled (1/k) / mass_i times as often as
    by uniform sampling: the detailed end most. The outer edges are the smallest and largest
    calibration PIC; values beyond them belong to the end intervals. Run it once, before the
    loader starts its workers, and pass the edges to :class:`RFSPlanner`.
    """
    if samples < 2:
        raise ValueError(f"need samples >= 2, got {samples}")
    masses = interval_masses(intervals, tilt)
    source.check_fits(patch_size)
    rng = _rng(seed, _CALIBRATION)
    images = rng.integers(0, len(source), size=samples)
    values = np.concatenate(
        [
            _pic_of(source, _random_crops(rng, source, chunk, patch_size, (0,)))
            for chunk in np.array_split(images, -(-samples // 256))
        ]
    )
    inner = np.quantile(values, np.cumsum(masses)[:-1])
    return (float(values.min()), *(float(v) for v in inner), float(values.max()))


@dataclass(frozen=True)
class RFSPlanner:
    """BSR's Random Filter Sampling: equal quotas of patches per PIC interval.

    Each round draws ``candidates`` random (image, crop) pairs, images uniform with replacement,
    scores their LR patches with :func:`pic` and keeps those whose interval still has room
    (PIC below or above the edges counts in the first or last interval); the others are kept
    aside. Termination guard: after ``max_rounds`` rounds each open place takes the earliest
    set-aside candidate of the nearest interval that has one (of two equally near, the more
    detailed). Quotas are batch_size // k each, the remainder going to the highest intervals;
    the batch is shuffled so every DDP rank's slice mixes intervals.
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
        aside: list[deque[SampleRequest]] = [deque() for _ in room]
        for _ in range(self.max_rounds):
            self._round(rng, source, room, kept, aside)
            if len(kept) == batch_size:
                break
        while len(kept) < batch_size:  # the guard, lowest open interval first
            place = int(np.flatnonzero(room)[0])
            nearest = self._nearest_with_spare(place, aside)
            if nearest is None:  # fewer candidates drawn than places: one more round, aside
                self._round(rng, source, np.zeros_like(room), kept, aside)
                continue
            kept.append(aside[nearest].popleft())
            room[place] -= 1
        return [kept[i] for i in rng.permutation(batch_size)]

    def _round(
        self,
        rng: np.random.Generator,
        source: PairSource,
        room: np.ndarray,
        kept: list[SampleRequest],
        aside: list[deque[SampleRequest]],
    ) -> None:
        """Draw and score one round of candidates: into ``kept`` while their interval has
        ``room`` (which counts down), else ``aside``."""
        images = rng.integers(0, len(source), size=self.candidates)
        drawn = _random_crops(rng, source, images, self.patch_size, self.transforms)
        for request, i in zip(drawn, self.interval(_pic_of(source, drawn)), strict=True):
            if room[i] > 0:
                room[i] -= 1
                kept.append(request)
            else:
                aside[i].append(request)

    @staticmethod
    def _nearest_with_spare(i: int, aside: Sequence[deque[SampleRequest]]) -> int | None:
        """The interval nearest to ``i`` with a set-aside candidate, ties to the detailed one."""
        spare = [j for j, queue in enumerate(aside) if queue]
        return min(spare, key=lambda j: (abs(j - i), -j), default=None)
