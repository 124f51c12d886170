"""The training batch stream: a torch DataLoader over batch indices start, start + 1, ...

Each item is one whole local batch, computed from its index alone (the planner plans the
global batch, this rank keeps its contiguous slice), so workers receive only indices and the
stream is the same for any worker count, any resume point and any split across DDP ranks.
Workers are forked, so they share the source's cached images instead of copying them.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from srlab.data.pairs import PairSource
from srlab.data.sampling import PatchPlanner

__all__ = ["make_train_loader"]


class _Count(Sampler[int]):
    """Batch indices start, start + 1, ... without end."""

    def __init__(self, start: int) -> None:
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.start)


class _LocalBatches(Dataset):
    """Item b = this rank's slice of global batch b, augmented and stacked into tensors."""

    def __init__(
        self, source: PairSource, planner: PatchPlanner, batch_size: int, rank: int, world: int
    ) -> None:
        self.source = source
        self.planner = planner
        self.batch_size = batch_size
        self.local = batch_size // world
        self.rank = rank

    def __getitem__(self, batch_index: int) -> dict[str, torch.Tensor | int]:
        requests = self.planner.plan(batch_index, self.batch_size, self.source)
        if len(requests) != self.batch_size:
            raise RuntimeError(
                f"{type(self.planner).__name__} planned {len(requests)} samples for batch"
                f" {batch_index}, not {self.batch_size}"
            )
        lr, hr = self.source.batch(requests[self.rank * self.local : (self.rank + 1) * self.local])
        return {"lr": torch.from_numpy(lr), "hr": torch.from_numpy(hr), "index": batch_index}


def make_train_loader(
    source: PairSource,
    planner: PatchPlanner,
    batch_size: int,
    *,
    start_batch: int = 0,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
) -> DataLoader:
    """Endless batches ``{"lr": B x 3 x p x p, "hr": B x 3 x sp x sp, "index": b}`` (float32,
    0..1) for b = start_batch, start_batch + 1, ..., with B = batch_size // world_size.

    ``batch_size`` is the global batch; rank r gets samples r*B .. (r+1)*B - 1 of it. To resume
    after n iterations pass ``start_batch=n``: the stream continues exactly where it stopped.
    """
    if batch_size < 1 or world_size < 1 or batch_size % world_size:
        raise ValueError(
            f"the global batch size {batch_size} must be a positive multiple of the number of"
            f" processes {world_size}"
        )
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
    if start_batch < 0 or num_workers < 0:
        raise ValueError("start_batch and num_workers must be non-negative")
    source.check_fits(planner.patch_size)
    workers = num_workers > 0
    return DataLoader(
        _LocalBatches(source, planner, batch_size, rank, world_size),
        batch_size=None,
        sampler=_Count(start_batch),
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=workers,
        multiprocessing_context=_fork() if workers else None,
    )


def _fork() -> multiprocessing.context.BaseContext | None:
    """Fork where the platform has it (workers then share the cached images); else default."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork") if "fork" in methods else None
