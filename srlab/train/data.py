"""Build the training stream and the validation pairs that a config describes.

Problems with the data (a missing folder, an empty one, an unreadable image, images smaller
than the patch) are ConfigErrors naming the config key, raised before training starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from srlab.config import ConfigError
from srlab.data import (
    Degradation,
    EvalPair,
    HRFolderSource,
    PairedFolderSource,
    PairSource,
    PatchPlanner,
    RFSPlanner,
    UniformPlanner,
    allowed_transforms,
    make_degradation,
    make_train_loader,
    make_val_pairs,
    pic_edges,
)
from srlab.io import ImageError
from srlab.train.distributed import DistContext
from srlab.train.schema import ExperimentConfig


@dataclass(frozen=True)
class TrainingSet:
    """The decoded training images and the planner that picks each batch's patches."""

    source: PairSource
    planner: PatchPlanner


def check_data_folders(cfg: ExperimentConfig) -> None:
    """Raise ConfigError naming the key of a data folder that does not exist (cheap, so that
    it fails before anything is built)."""
    d, v = cfg.data.train, cfg.data.val
    folders = {
        "data.train.hr_folder": d.hr_folder,
        "data.train.lr_folder": d.lr_folder,
        "data.val.folder": v.folder if v is not None else None,
    }
    for key, folder in folders.items():
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"{key}: {folder} does not exist or is not a folder")


def build_training_set(cfg: ExperimentConfig) -> TrainingSet:
    """Decode the training images and build the configured planner (RFS calibrates its
    interval edges here, a pure function of the seed and the images)."""
    d = cfg.data.train
    key = "data.train.hr_folder" if d.lr_folder is None else "data.train"
    try:
        if d.lr_folder is not None:
            source: PairSource = PairedFolderSource(
                d.lr_folder, d.hr_folder, cfg.scale, cache=d.cache
            )
        else:
            source = HRFolderSource(d.hr_folder, cfg.scale, _degradation(cfg), cache=d.cache)
    except (ImageError, OSError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from exc
    try:
        source.check_fits(d.patch_size)
    except ValueError as exc:
        raise ConfigError(f"data.train.patch_size: {exc}") from exc
    transforms = allowed_transforms(flips=d.flips, rotations=d.rotations)
    if d.sampler == "uniform":
        return TrainingSet(source, UniformPlanner(cfg.seed, d.patch_size, transforms))
    r = d.rfs
    edges = pic_edges(
        source, d.patch_size, seed=cfg.seed, intervals=r.intervals, tilt=r.tilt,
        samples=r.calibration_samples,
    )
    planner = RFSPlanner(
        cfg.seed, d.patch_size, edges, transforms, candidates=r.candidates,
        max_rounds=r.max_rounds,
    )
    return TrainingSet(source, planner)


def _degradation(cfg: ExperimentConfig) -> Degradation:
    """The training degradation; bad settings are a ConfigError naming the key."""
    d = cfg.data.train
    try:
        return make_degradation(d.degradation, cfg.scale, **d.degradation_options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"data.train.degradation: {exc}") from None


def build_train_loader(
    cfg: ExperimentConfig, data: TrainingSet, start_batch: int, ctx: DistContext
) -> Iterable[dict]:
    """The (infinite) batch stream from global batch `start_batch` on, this rank's shard."""
    d = cfg.data.train
    return make_train_loader(
        data.source,
        data.planner,
        d.batch_size,
        start_batch=start_batch,
        num_workers=d.num_workers,
        rank=ctx.rank,
        world_size=ctx.world_size,
    )


def build_val_pairs(cfg: ExperimentConfig) -> list[EvalPair]:
    v = cfg.data.val
    if v is None:
        return []
    degradation = make_degradation(v.degradation, cfg.scale)
    images = make_val_pairs(v.folder, cfg.scale, degradation, seed=cfg.seed)
    return images[: v.max_images]
