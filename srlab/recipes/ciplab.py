"""CIPLAB's two-stage training for perceptual ×16 SR (Jo et al., NTIRE 2020; their code,
kingsj0405/ciplab-NTIRE-2020), with a U-Net discriminator (Schönfeld et al. 2020).

Stage 1: the generator alone, pixel loss only. Stage 2, per iteration: a discriminator step on
its own half of the batch (hinge on the global and per-pixel heads; with probability
`cutmix_probability` the fake batch is a CutMix of SR and HR and the consistency loss joins),
then a generator step on the other half: pixel + LPIPS + feature matching (Huber over the
twelve U-Net features) + hinge adversarial loss, the two heads averaged. Losses:
srlab/losses/unet_gan.py; choices against the paper and the factsheet: docs/architectures.md §7.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from srlab.config import ConfigError
from srlab.losses import FeatureMatchingLoss, HuberLoss, LPIPSLoss, MSELoss
from srlab.losses.unet_gan import CutMixConsistencyLoss, UNetHingeLoss, random_box
from srlab.recipes.base import Phase, Recipe, RecipeConfig, RecipeKind, as_outputs


@dataclass
class CiplabConfig(RecipeConfig):
    """CIPLAB's losses on the 0–1 scale.

    `stage` 1: `pixel_loss` only (huber: δ = `huber_delta`, as the authors' code; mse: as
    their factsheet). `stage` 2 adds, against the U-Net network `discriminator`:
    `lpips_weight` · LPIPS-AlexNet (weights from the local `lpips_weights` files),
    `feature_matching_weight` · feature matching (Huber δ = `huber_delta`) and `gan_weight` ·
    hinge (heads averaged) for the generator; hinge on both heads plus, on the CutMix batches
    (probability `cutmix_probability`), `consistency_weight` · consistency for the
    discriminator. `cutmix_target` labels a CutMix image's pixels: "fake" everywhere (the
    authors' code) or "mask" (real where pasted, the U-Net GAN paper). With
    `separate_d_batch` the two steps share the loaded batch out, the first half to the
    discriminator, as the authors draw a fresh batch for each step.
    """

    kind: Literal["ciplab"] = "ciplab"
    stage: Literal[1, 2] = 1
    pixel_loss: Literal["huber", "mse"] = "huber"
    huber_delta: float = 0.01
    lpips_weight: float = 1e-3
    lpips_weights: list[Path] = field(default_factory=list)
    feature_matching_weight: float = 1.0
    gan_weight: float = 1e-3
    discriminator: str = "d"
    cutmix_probability: float = 0.5
    cutmix_target: Literal["fake", "mask"] = "fake"
    consistency_weight: float = 1.0
    separate_d_batch: bool = True

    def __post_init__(self) -> None:
        if self.huber_delta <= 0:
            raise ConfigError(f"huber_delta: must be positive, got {self.huber_delta}")
        for key in ("lpips_weight", "feature_matching_weight", "gan_weight", "consistency_weight"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: must be at least 0, got {getattr(self, key)}")
        if not 0 <= self.cutmix_probability <= 1:
            raise ConfigError(
                f"cutmix_probability: must be a probability in 0..1, got {self.cutmix_probability}"
            )
        if self.uses_lpips and not self.lpips_weights:
            raise ConfigError(
                f"lpips_weights: stage 2 weighs LPIPS by {self.lpips_weight} but names no weight "
                "files; give torchvision's AlexNet checkpoint and the LPIPS heads (or one file "
                "holding both), or set lpips_weight: 0"
            )

    @property
    def uses_lpips(self) -> bool:
        return self.stage == 2 and self.lpips_weight > 0

    def roles(self) -> dict[str, str]:
        extra = {"discriminator": self.discriminator} if self.stage == 2 else {}
        return {**super().roles(), **extra}


def _lpips(cfg: CiplabConfig) -> LPIPSLoss:
    """LPIPS-AlexNet from the configured files; an unreadable, missing or unfitting file is a
    one-line ConfigError naming `lpips_weights`."""
    try:
        return LPIPSLoss(cfg.lpips_weights, net="alex", input_range="unit")
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split()).rstrip(".")
        raise ConfigError(
            f"lpips_weights: {reason}; or set lpips_weight: 0 to train without LPIPS"
        ) from None


class CiplabRecipe(Recipe):
    def __init__(self, cfg: CiplabConfig) -> None:
        super().__init__()
        self.opts = cfg
        self.pixel = HuberLoss(cfg.huber_delta) if cfg.pixel_loss == "huber" else MSELoss()
        self.lpips = _lpips(cfg) if cfg.uses_lpips else None
        self.feature_matching = FeatureMatchingLoss(HuberLoss(cfg.huber_delta))
        self.hinge = UNetHingeLoss()
        self.consistency = CutMixConsistencyLoss()

    def phases(
        self, batch: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]
    ) -> Iterator[Phase]:
        g = nets[self.opts.generator]
        if self.opts.stage == 1:
            yield self._generator_phase(g, None, batch["lr"], batch["hr"])
            return
        d = nets[self.opts.discriminator]
        (d_lr, d_hr), (g_lr, g_hr) = self._share_out(batch["lr"], batch["hr"])
        yield self._discriminator_phase(g, d, d_lr, d_hr)
        yield self._generator_phase(g, d, g_lr, g_hr)

    def _share_out(
        self, lr: torch.Tensor, hr: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """(D's LR, HR), (G's LR, HR): halves of the batch, or the whole batch for both."""
        if not self.opts.separate_d_batch:
            return (lr, hr), (lr, hr)
        half = hr.shape[0] // 2
        if half == 0:
            raise ValueError(
                "recipe.separate_d_batch needs at least 2 samples per batch and process (one "
                "for each step); raise data.train.batch_size or set separate_d_batch: false"
            )
        return (lr[:half], hr[:half]), (lr[half:], hr[half:])

    def _discriminator_phase(
        self, g: nn.Module, d: nn.Module, lr: torch.Tensor, hr: torch.Tensor
    ) -> Phase:
        o = self.opts
        with torch.no_grad():
            fake = as_outputs(g(lr))[-1]
        on_fake, on_real = d(fake), d(hr)
        logs = {
            "d_real_global": on_real.global_logits.mean(),
            "d_real_pixel": on_real.pixel_logits.mean(),
            "d_fake_global": on_fake.global_logits.mean(),
            "d_fake_pixel": on_fake.pixel_logits.mean(),
        }
        judged, target, consistency = on_fake, None, None
        if o.cutmix_probability > 0 and torch.rand(()).item() < o.cutmix_probability:
            box = random_box(*hr.shape[-2:])
            judged = d(box.paste(fake, hr))
            mask = box.mask(on_real.pixel_logits)
            target = mask if o.cutmix_target == "mask" else None
            consistency = self.consistency(
                judged.pixel_logits, on_fake.pixel_logits, on_real.pixel_logits, mask
            )
        loss = self.hinge.discriminator(
            on_real.global_logits,
            on_real.pixel_logits,
            judged.global_logits,
            judged.pixel_logits,
            target,
        )
        logs["d_hinge"] = loss
        if consistency is not None:
            loss = loss + o.consistency_weight * consistency
            logs["d_cons"] = consistency
        return Phase((o.discriminator,), loss, {k: v.detach() for k, v in logs.items()})

    def _generator_phase(
        self, g: nn.Module, d: nn.Module | None, lr: torch.Tensor, hr: torch.Tensor
    ) -> Phase:
        o = self.opts
        sr = as_outputs(g(lr))[-1]
        loss = self.pixel(sr, hr)
        logs = {o.pixel_loss: loss}
        if self.lpips is not None:
            logs["lpips"] = self.lpips(sr, hr)
            loss = loss + o.lpips_weight * logs["lpips"]
        if d is not None:
            on_fake = d(sr)
            if o.feature_matching_weight > 0:
                with torch.no_grad():  # only G steps here: HR features are data
                    on_real = d(hr)
                logs["fm"] = self.feature_matching(on_fake.features, on_real.features)
                loss = loss + o.feature_matching_weight * logs["fm"]
            logs["g_gan"] = self.hinge.generator(on_fake.global_logits, on_fake.pixel_logits)
            loss = loss + o.gan_weight * logs["g_gan"]
        return Phase((o.generator,), loss, {k: v.detach() for k, v in logs.items()})


RECIPE = RecipeKind(CiplabRecipe, CiplabConfig)
