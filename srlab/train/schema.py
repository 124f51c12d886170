"""The typed schema of a training run, as written in `configs/*.yaml`.

Every system (pixel pre-training, GAN fine-tuning, cycle training) is this one schema with
different networks, loss terms and recipe; the trainer has no paper-specific branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


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


@dataclass
class LossTerm:
    """A weighted loss from `srlab.losses.LOSSES`, built with `options`. `input_scale`
    multiplies prediction and target first (255 = the authors' 0–255 scale, so their weights
    apply as published)."""

    kind: str
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)
    input_scale: float = 1.0


@dataclass
class GANConfig:
    kind: Literal["vanilla", "lsgan", "hinge", "hinge_ciplab", "ragan"] = "ragan"
    weight: float = 5e-3
    discriminator: str = "d"


@dataclass
class GMGBPLossConfig:
    """G-MGBP's noise-adaptive multi-scale losses (methods.md 3.4).

    Each iteration trains every configuration L in `configurations` (L ×2 levels, input the HR
    patch shrunk by 2^L, every level supervised): L1 and back-projection terms on the W = 0
    outputs; with `perceptual`, also a W = 1 pass with back-projection terms, the contextual
    loss at VGG19 conv3_4 (when `vgg_weights` is given) and the GAN term (when
    `discriminator` names a network).
    """

    configurations: list[int] = field(default_factory=lambda: [1, 2, 3])
    l1_weight: float = 10.0
    back_projection_weight: float = 10.0
    perceptual: bool = False
    contextual_weight: float = 0.1
    vgg_weights: Path | None = None
    gan_weight: float = 1e-3
    discriminator: str | None = None


@dataclass
class CycleLossConfig:
    """SRResCGAN (`cycle: false`) and SRResCycGAN (`cycle: true`) losses, methods.md 5.4, on the
    0–255 scale. G_SR: perceptual (VGG19 conv5_4 before ReLU on raw 0–255 input, only when
    `vgg_weights` is given) + RaGAN with the high-pass discriminator `hr_discriminator` + gradient
    "TV" + 10·L1 + 10·cycle. G_LR (`lr_generator`): 10·cycle + BCE GAN against
    `lr_discriminator`. Mixup of LR and HR with probability `mixup` per batch."""

    cycle: bool = True
    perceptual_weight: float = 1.0
    vgg_weights: Path | None = None
    gan_weight: float = 1.0
    tv_weight: float = 1.0
    l1_weight: float = 10.0
    cycle_weight: float = 10.0
    lr_gan_weight: float = 1.0
    hr_discriminator: str = "d_x"
    lr_generator: str = "g_lr"
    lr_discriminator: str = "d_y"
    mixup: float = 0.5
    mixup_alpha: float = 1.2


@dataclass
class RecipeConfig:
    """How one iteration uses the networks: `pixel` (supervised, every output of a multi-output
    generator weighted by `step_weights`), `gan` (the same plus an adversarial game) or
    `gmgbp` (G-MGBP's own multi-scale, noise-adaptive recipe, set in `gmgbp`) or `cycle`
    (SRResCGAN / SRResCycGAN, set in `cycle`)."""

    kind: Literal["pixel", "gan", "gmgbp", "cycle"] = "pixel"
    generator: str = "g"
    losses: list[LossTerm] = field(default_factory=lambda: [LossTerm("l1")])
    step_weights: list[float] | None = None
    gan: GANConfig | None = None
    gmgbp: GMGBPLossConfig | None = None
    cycle: CycleLossConfig | None = None


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


@dataclass
class ValDataConfig:
    folder: Path
    degradation: str = "BI"
    max_images: int | None = None
    crop_border: int | None = None  # default: the scale
    niqe: bool = False
    lpips_weights: list[Path] = field(default_factory=list)  # AlexNet + heads files (see metrics)


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


@dataclass
class ExperimentConfig:
    name: str
    scale: int
    data: DataConfig
    networks: dict[str, NetworkConfig]
    train: LoopConfig
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    seed: int = 0
    output_root: Path = Path("runs")

    def __post_init__(self) -> None:
        if self.recipe.generator not in self.networks:
            raise ValueError(f"recipe.generator {self.recipe.generator!r} is not in networks")
        gan = self.recipe.gan
        if self.recipe.kind == "gan" and (gan is None or gan.discriminator not in self.networks):
            raise ValueError("a gan recipe needs recipe.gan with a discriminator in networks")
        cycle = self.recipe.cycle
        if self.recipe.kind == "cycle":
            cycle = cycle or CycleLossConfig()
            needed = [cycle.hr_discriminator]
            if cycle.cycle:
                needed += [cycle.lr_generator, cycle.lr_discriminator]
            missing = [n for n in needed if n not in self.networks]
            if missing:
                raise ValueError(f"the cycle recipe needs networks {missing}")
        gmgbp = self.recipe.gmgbp
        if gmgbp is not None and gmgbp.discriminator not in (None, *self.networks):
            raise ValueError(
                f"recipe.gmgbp.discriminator {gmgbp.discriminator!r} is not in networks"
            )
