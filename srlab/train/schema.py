"""The typed schema of a training run, as written in `configs/*.yaml`.

Every system (pixel pre-training, GAN fine-tuning, cycle training) is this one schema with
different networks and recipe; the trainer has no paper-specific branches. The `recipe:`
section is read as the config class that `srlab.recipes.RECIPES` gives its `kind`, which checks
its own keys. Values are checked here, at load time, so that a bad one fails before any work:
each check raises a ConfigError naming its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from srlab.config import ConfigError, Tagged
from srlab.recipes import DEFAULT_KIND, RECIPES, RecipeConfig

_RECIPE = Tagged("kind", {kind: entry.config for kind, entry in RECIPES.items()}, DEFAULT_KIND)


def _at_least(minimum: int, **values: int | None) -> None:
    """Raise ConfigError naming the first of ``values`` (key=value) that is below ``minimum``
    (None: not set, allowed)."""
    for key, value in values.items():
        if value is not None and value < minimum:
            raise ConfigError(f"{key}: must be at least {minimum}, got {value}")


@dataclass
class OptimizerConfig:
    kind: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only


@dataclass
class SchedulerConfig:
    """Learning-rate schedule per iteration, after an optional linear warm-up.

    multistep: lr·gamma^(number of milestones passed); cosine: from lr down to lr·min_ratio at
    `total` iterations (default: the run length); inverse_sqrt: lr·sqrt(t0/(t + t0)) (G-MGBP's
    decay); constant: lr.
    """

    kind: Literal["constant", "multistep", "cosine", "inverse_sqrt"] = "constant"
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.5
    warmup_iters: int = 0
    min_ratio: float = 0.0
    total: int | None = None
    t0: int = 1000


@dataclass
class NetworkConfig:
    """One network of the run: its architecture, optimiser and schedule."""

    arch: str
    options: dict[str, Any] = field(default_factory=dict)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    clip_grad_norm: float | None = None
    ema_decay: float | None = None
    pretrained: Path | None = None  # a .safetensors file, e.g. the stage-1 result
    trainable: bool = True

    def __post_init__(self) -> None:
        if self.clip_grad_norm is not None and self.clip_grad_norm <= 0:
            raise ConfigError(f"clip_grad_norm: must be positive, got {self.clip_grad_norm}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay: must lie in [0, 1) (0: no EMA), got {self.ema_decay}")


@dataclass
class RFSConfig:
    """BSR's Random Filter Sampling (Kong 2020; docs/training.md, Sampling): each batch
    holds equal quotas of patches from `intervals` intervals of patch information content, each
    interval `tilt` times rarer under uniform sampling than the one below it (quantile edges
    from `calibration_samples` random patches before training), filled from rounds of
    `candidates` random patches; after `max_rounds` rounds open places take set-aside patches
    of the nearest interval."""

    intervals: int = 4
    tilt: float = 2.0
    calibration_samples: int = 10_000
    candidates: int = 32
    max_rounds: int = 50

    def __post_init__(self) -> None:
        _at_least(2, calibration_samples=self.calibration_samples)
        _at_least(
            1, intervals=self.intervals, candidates=self.candidates, max_rounds=self.max_rounds
        )
        if not self.tilt >= 1:  # also refuses NaN
            raise ConfigError(
                f"tilt: must be at least 1 (1 gives uniform sampling's mix), got {self.tilt}"
            )


@dataclass
class TrainDataConfig:
    hr_folder: Path
    lr_folder: Path | None = None  # paired LR/HR folders instead of on-the-fly degradation
    degradation: str = "BI"
    degradation_options: dict[str, Any] = field(default_factory=dict)
    patch_size: int = 48  # LR pixels
    batch_size: int = 16
    flips: bool = True
    rotations: bool = True
    cache: bool = True
    num_workers: int = 0
    sampler: Literal["uniform", "rfs"] = "uniform"  # which patches make a batch
    rfs: RFSConfig = field(default_factory=RFSConfig)  # used with sampler: rfs

    def __post_init__(self) -> None:
        _at_least(1, patch_size=self.patch_size, batch_size=self.batch_size)
        _at_least(0, num_workers=self.num_workers)


@dataclass
class ValDataConfig:
    folder: Path
    degradation: str = "BI"
    max_images: int | None = None
    crop_border: int | None = None  # default: the scale
    niqe: bool = False
    lpips_weights: list[Path] = field(default_factory=list)  # AlexNet + heads files (see metrics)

    def __post_init__(self) -> None:
        _at_least(1, max_images=self.max_images)
        _at_least(0, crop_border=self.crop_border)


@dataclass
class DataConfig:
    train: TrainDataConfig
    val: ValDataConfig | None = None


@dataclass
class LoopConfig:
    iterations: int
    log_every: int = 10
    checkpoint_every: int = 1000
    val_every: int = 1000
    keep_checkpoints: int = 2
    amp: bool = False
    channels_last: bool = True
    compile: bool = False
    device: str = "cpu"
    tensorboard: bool = True
    sample_images: int = 2  # validation images logged to TensorBoard

    def __post_init__(self) -> None:
        _at_least(
            1,
            iterations=self.iterations,
            log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
            val_every=self.val_every,
        )
        _at_least(0, keep_checkpoints=self.keep_checkpoints, sample_images=self.sample_images)


@dataclass
class ExperimentConfig:
    name: str
    scale: int
    data: DataConfig
    networks: dict[str, NetworkConfig]
    train: LoopConfig
    recipe: Annotated[RecipeConfig, _RECIPE] = field(
        default_factory=lambda: RECIPES[DEFAULT_KIND].config()
    )
    seed: int = 0
    output_root: Path = Path("runs")

    def __post_init__(self) -> None:
        _at_least(1, scale=self.scale)
        _at_least(0, seed=self.seed)
        try:
            self.recipe.check(self.networks)
        except ConfigError as exc:
            raise exc.under("recipe") from None
