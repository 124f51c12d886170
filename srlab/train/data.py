"""Build the training stream and the validation pairs that a config describes."""

from __future__ import annotations

from collections.abc import Iterable

from srlab.data import (
    HRFolderSource,
    PairedFolderSource,
    UniformPlanner,
    allowed_transforms,
    make_degradation,
    make_train_loader,
    make_val_pairs,
)
from srlab.train.distributed import DistContext
from srlab.train.schema import ExperimentConfig
from srlab.train.validate import ValPair


def build_train_loader(cfg: ExperimentConfig, start_batch: int, ctx: DistContext) -> Iterable[dict]:
    """The (infinite) batch stream from global batch `start_batch` on, this rank's shard."""
    d = cfg.data.train
    if d.lr_folder is not None:
        source = PairedFolderSource(d.lr_folder, d.hr_folder, cfg.scale, cache=d.cache)
    else:
        degradation = make_degradation(d.degradation, cfg.scale, **d.degradation_options)
        source = HRFolderSource(d.hr_folder, cfg.scale, degradation, cache=d.cache)
    transforms = allowed_transforms(flips=d.flips, rotations=d.rotations)
    planner = UniformPlanner(cfg.seed, d.patch_size, transforms)
    return make_train_loader(
        source,
        planner,
        d.batch_size,
        start_batch=start_batch,
        num_workers=d.num_workers,
        rank=ctx.rank,
        world_size=ctx.world_size,
    )


def build_val_pairs(cfg: ExperimentConfig) -> list[ValPair]:
    v = cfg.data.val
    if v is None:
        return []
    degradation = make_degradation(v.degradation, cfg.scale)
    images = make_val_pairs(v.folder, cfg.scale, degradation, seed=cfg.seed)
    return [ValPair(*image) for image in images[: v.max_images]]
