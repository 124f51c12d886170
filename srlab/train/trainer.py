"""The generic trainer: networks, optimisers, AMP, EMA, checkpoints, resume, DDP, validation.

It knows no paper. A config names the networks and a recipe; the trainer runs the recipe's
phases each iteration and owns everything around them.

Set-up problems are one-line errors (ValueError subclasses) raised before any training: bad
network options (ConfigError naming `networks.NAME.options`), data (see `srlab.train.data`), a
run directory that is a file, read-only or in use by another trainer (RunDirError). Resuming
skips damaged checkpoints with a warning and falls back to the previous intact one.
"""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from srlab.archs import ARCHITECTURES, Architecture
from srlab.config import ConfigError, dump_yaml
from srlab.evaluation.protocol import Scores, Scoring, bicubic_scores, score_network
from srlab.io import ImageError, atomic_write
from srlab.metrics import LPIPS
from srlab.ops.device import resolve_device
from srlab.recipes import Phase, Recipe, RecipeConfig, build_recipe
from srlab.train import checkpoint as ckpt
from srlab.train.data import (
    build_train_loader,
    build_training_set,
    build_val_pairs,
    check_data_folders,
)
from srlab.train.distributed import init_distributed, shutdown
from srlab.train.ema import EMA
from srlab.train.logbook import CONFIG_FILE, Logbook
from srlab.train.messages import first_line
from srlab.train.optim import build_optimizer, build_scheduler
from srlab.train.runlock import RunLock, prepare_run_dir
from srlab.train.schema import ExperimentConfig, NetworkConfig
from srlab.zoo import ModelLoadError, save_model
from srlab.zoo.loader import load_state_strict, load_weights

MODEL_FILE = "model.safetensors"
# What reading or restoring a damaged (or foreign) checkpoint raises: fall back to an older one.
_UNUSABLE_CHECKPOINT = (ckpt.CheckpointError, ModelLoadError, KeyError, RuntimeError, ValueError)


@dataclass
class NetState:
    """One network and everything that updates it."""

    cfg: NetworkConfig
    module: nn.Module  # the plain module (what is saved)
    run: nn.Module  # what the recipe calls: possibly DDP-wrapped and/or compiled
    optimizer: torch.optim.Optimizer | None
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler | None
    ema: EMA | None


class Trainer:
    def __init__(
        self,
        cfg: ExperimentConfig,
        *,
        run_dir: Path | None = None,
        registry: Mapping[str, Architecture] = ARCHITECTURES,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.ctx = init_distributed(cfg.train.device)
        self.device = self._device()
        self.run_dir = Path(run_dir or cfg.output_root / cfg.name)
        self.ckpt_root = self.run_dir / "checkpoints"
        self.progress = progress and self.ctx.is_main
        check_data_folders(cfg)
        torch.manual_seed(cfg.seed)
        self.nets = {name: self._build_net(name, n, registry) for name, n in cfg.networks.items()}
        self.generator_spec = registry[cfg.networks[cfg.recipe.generator].arch].spec
        self.recipe: Recipe = _build_recipe(cfg.recipe).to(self.device)
        self.lock = RunLock(self.run_dir)  # only rank 0 takes it
        stale = None
        if self.ctx.is_main:
            prepare_run_dir(self.run_dir)
            stale = self.lock.acquire()
        self.log = Logbook(
            self.run_dir, enabled=self.ctx.is_main, tensorboard=cfg.train.tensorboard
        )
        try:
            if stale:
                self._warn(stale)
            self.data = build_training_set(cfg)
            if self.ctx.is_main:
                self.ckpt_root.mkdir(exist_ok=True)
                text = dump_yaml(cfg)
                atomic_write(
                    self.run_dir / CONFIG_FILE, lambda p: Path(p).write_text(text), overwrite=True
                )
            self.ctx.barrier()
            self.scoring = self._val_scoring()
            self.iteration = 0
            self.timings: list[tuple[float, float]] = []  # (data wait, whole iteration) seconds
            self._resume()
            self._check_same_start()
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- set-up
    def _device(self) -> torch.device:
        try:
            device = resolve_device(self.cfg.train.device)
        except ValueError as exc:
            raise ConfigError(f"train.device: {exc}") from None
        return torch.device("cuda", self.ctx.local_rank) if device.type == "cuda" else device

    def _build_net(
        self, name: str, cfg: NetworkConfig, registry: Mapping[str, Architecture]
    ) -> NetState:
        if cfg.arch not in registry:
            known = ", ".join(registry)
            raise ConfigError(f"networks.{name}.arch: unknown architecture {cfg.arch!r} ({known})")
        options = dict(cfg.options)
        if name == self.cfg.recipe.generator:
            options.setdefault("scale", self.cfg.scale)
        try:
            module = registry[cfg.arch].build(**options)
        except Exception as exc:  # any failure to build from the options is the options' fault
            raise ConfigError(
                f"networks.{name}.options: cannot build {cfg.arch!r} from {options}: "
                f"{first_line(exc)}"
            ) from exc
        if cfg.pretrained is not None:
            try:
                load_weights(cfg.pretrained, module, registry[cfg.arch])
            except ModelLoadError as exc:
                raise ConfigError(f"networks.{name}.pretrained: {exc}") from exc
        module.to(self.device)
        if self.cfg.train.channels_last:
            module.to(memory_format=torch.channels_last)
        run: nn.Module = module
        trainable = cfg.trainable and any(p.requires_grad for p in module.parameters())
        if not trainable:
            module.requires_grad_(False).eval()
        elif self.ctx.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            run = DistributedDataParallel(module, device_ids=ids)
        if self.cfg.train.compile:
            run = torch.compile(run)
        optimizer = build_optimizer(module.parameters(), cfg.optimizer) if trainable else None
        scheduler = (
            build_scheduler(optimizer, cfg.scheduler, self.cfg.train.iterations)
            if optimizer is not None
            else None
        )
        use_scaler = trainable and self.cfg.train.amp and self.device.type == "cuda"
        return NetState(
            cfg=cfg,
            module=module,
            run=run,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=torch.amp.GradScaler("cuda") if use_scaler else None,
            ema=EMA(module, cfg.ema_decay) if cfg.ema_decay and trainable else None,
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.cfg.train.amp:
            return contextlib.nullcontext()
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    # ----------------------------------------------------------- checkpoints
    def _weights(self) -> dict[str, dict[str, torch.Tensor]]:
        weights = {}
        for name, net in self.nets.items():
            weights[name] = net.module.state_dict()
            if net.ema is not None:
                weights[f"{name}_ema"] = net.ema.module.state_dict()
        return weights

    def _state(self) -> dict:
        state: dict = {"iteration": self.iteration, "rng": {"torch": torch.get_rng_state()}}
        if torch.cuda.is_available():
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        for key in ("optimizer", "scheduler", "scaler"):
            state[key] = {
                name: getattr(net, key).state_dict()
                for name, net in self.nets.items()
                if getattr(net, key) is not None
            }
        return state

    def save_checkpoint(self) -> None:
        if self.ctx.is_main:
            path = ckpt.save_checkpoint(
                self.ckpt_root, self.iteration, self._weights(), self._state(),
                keep=self.cfg.train.keep_checkpoints,
            )
            self.log.info(f"checkpoint {path}")
        self.ctx.barrier()

    def _resume(self) -> None:
        """Continue from the newest usable checkpoint, warning about each damaged one skipped;
        CheckpointError when there are checkpoints but none is usable."""
        tried = ckpt.resume_order(self.ckpt_root)
        reasons = []
        for path in tried:
            try:
                self._restore(path, *ckpt.load_checkpoint(path))
            except _UNUSABLE_CHECKPOINT as exc:
                reasons.append(first_line(exc))
                self._warn(f"skipping checkpoint {path.name}: {reasons[-1]}")
                continue
            self.log.info(f"resumed from {path} at iteration {self.iteration}")
            return
        if tried:
            raise ckpt.CheckpointError(
                f"{self.ckpt_root}: none of its {len(tried)} checkpoint(s) can be resumed (newest:"
                f" {reasons[0]}); move the folder away to start afresh"
            )

    def _check_same_start(self) -> None:
        """Every process must start from the same iteration. Each reads the checkpoints of its
        own RUN_DIR, so machines that do not share that folder would train different
        iterations together, silently mixing their gradients: refuse instead."""
        starts = self.ctx.gather(self.iteration)
        if len(set(starts)) > 1:
            ranks = ", ".join(f"rank {rank} at {start}" for rank, start in enumerate(starts))
            raise ckpt.CheckpointError(
                f"{self.ckpt_root}: the processes would start at different iterations ({ranks});"
                " every machine must see the same run folder (a shared file system)"
            )

    def _restore(self, path: Path, weights: dict, state: dict) -> None:
        """Load checkpoint ``path``'s weights and state into the networks, optimisers,
        schedulers, scalers and RNG (a failure leaves them to the next checkpoint tried)."""
        missing = [name for name in self._weights() if name not in weights]
        if missing:
            raise ckpt.CheckpointError(f"{path}: no weights for {', '.join(missing)}")
        for name, net in self.nets.items():
            load_state_strict(f"{path}/{name}", net.module, weights[name])
            if net.ema is not None:
                load_state_strict(f"{path}/{name}_ema", net.ema.module, weights[f"{name}_ema"])
            for key in ("optimizer", "scheduler", "scaler"):
                part = getattr(net, key)
                if part is not None:
                    part.load_state_dict(state[key][name])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.iteration = int(state["iteration"])

    def _warn(self, message: str) -> None:
        """A one-line warning on stderr and in train.log (main process only)."""
        if self.ctx.is_main:
            print(f"srlab: warning: {message}", file=sys.stderr)
            self.log.info(f"warning: {message}")

    # ------------------------------------------------------------------ loop
    def fit(self) -> Scores | None:
        """Train to `train.iterations`, validating and checkpointing on schedule; returns the
        final validation scores (None without a validation folder). The run directory's lock
        is released however this ends."""
        try:
            return self._fit()
        finally:
            self.close()

    def close(self) -> None:
        """Release the run directory and close its records (fit does it; call it after a
        Trainer that is not fitted)."""
        self.lock.release()
        self.log.close()

    def _fit(self) -> Scores | None:
        cfg = self.cfg.train
        val_pairs = self._val_pairs()
        if val_pairs and self.iteration == 0:
            base = bicubic_scores(val_pairs, self.cfg.scale, self.scoring)
            self.log.scalars(0, {f"val/bicubic_{k}": v for k, v in base.means.items()})
        loader = iter(build_train_loader(self.cfg, self.data, self.iteration, self.ctx))
        bar = tqdm(
            total=cfg.iterations, initial=self.iteration, unit="it", disable=not self.progress,
            desc=self.cfg.name, dynamic_ncols=True,
        )
        self.log.info(f"training from iteration {self.iteration} on {self._hardware()}")
        waited = 0.0
        started = time.perf_counter()
        scores = None
        try:
            while self.iteration < cfg.iterations:
                t0 = time.perf_counter()
                batch = self._to_device(next(loader))
                wait = time.perf_counter() - t0
                waited += wait
                logs = self._train_step(batch)
                self.timings.append((wait, time.perf_counter() - t0))
                self.iteration += 1
                bar.update()
                if self.iteration % cfg.log_every == 0 or self.iteration == cfg.iterations:
                    elapsed = time.perf_counter() - started
                    values = {f"train/{k}": float(v) for k, v in logs.items()}
                    values["train/data_wait_share"] = waited / max(elapsed, 1e-9)
                    values.update(self._learning_rates())
                    self.log.scalars(self.iteration, values)
                    bar.set_postfix_str(", ".join(f"{k} {float(v):.4g}" for k, v in logs.items()))
                if self.iteration % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                if val_pairs and (
                    self.iteration % cfg.val_every == 0 or self.iteration == cfg.iterations
                ):
                    scores = self._validate(val_pairs)
        except KeyboardInterrupt:
            self.log.info(f"interrupted at iteration {self.iteration}; saving a checkpoint")
            self.save_checkpoint()
            raise
        finally:
            bar.close()
        if self.iteration % cfg.checkpoint_every:
            self.save_checkpoint()
        self._export()
        shutdown(self.ctx)
        return scores

    def _val_pairs(self) -> list:
        """The validation pairs (main process only); an unreadable image names the folder key."""
        if not self.ctx.is_main:
            return []
        try:
            return build_val_pairs(self.cfg)
        except (ImageError, OSError, ValueError) as exc:
            raise ConfigError(f"data.val.folder: {exc}") from exc

    def _hardware(self) -> str:
        """What this process trains on, for the run's record."""
        if self.device.type == "cuda":
            name = torch.cuda.get_device_name(self.device)
        else:
            threads = torch.get_num_threads()
            name = f"cpu, {threads} thread{'s' * (threads != 1)} ({_cpu_model()})"
        return f"{name} x{self.ctx.world_size}" if self.ctx.world_size > 1 else name

    def _to_device(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fmt = torch.channels_last if self.cfg.train.channels_last else torch.contiguous_format
        return {
            k: v.to(self.device, non_blocking=True).contiguous(memory_format=fmt)
            if isinstance(v, torch.Tensor) and v.ndim == 4
            else v
            for k, v in batch.items()
        }

    def _train_step(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logs: dict[str, torch.Tensor] = {}
        runs = {name: net.run for name, net in self.nets.items()}
        phases: Iterator[Phase] = self.recipe.phases(batch, runs)
        while True:
            with self._autocast():
                phase = next(phases, None)
            if phase is None:
                break
            self._apply(phase)
            logs.update(phase.logs)
        for net in self.nets.values():
            if net.scheduler is not None:
                net.scheduler.step()
            if net.ema is not None:
                net.ema.update(net.module)
        return logs

    def _apply(self, phase: Phase) -> None:
        """Backward the phase's loss and step the networks it names."""
        nets = [self.nets[name] for name in phase.networks]
        for net in nets:
            net.optimizer.zero_grad(set_to_none=True)
        scaler = nets[0].scaler
        (scaler.scale(phase.loss) if scaler is not None else phase.loss).backward()
        for net in nets:
            if net.cfg.clip_grad_norm is not None:
                if net.scaler is not None:
                    net.scaler.unscale_(net.optimizer)
                nn.utils.clip_grad_norm_(net.module.parameters(), net.cfg.clip_grad_norm)
            if net.scaler is not None:
                net.scaler.step(net.optimizer)
                net.scaler.update()
            else:
                net.optimizer.step()

    def _learning_rates(self) -> dict[str, float]:
        return {
            f"lr/{name}": net.optimizer.param_groups[0]["lr"]
            for name, net in self.nets.items()
            if net.optimizer is not None
        }

    # ------------------------------------------------------------ evaluation
    def _crop_border(self) -> int:
        val = self.cfg.data.val
        return self.cfg.scale if val is None or val.crop_border is None else val.crop_border

    def _val_scoring(self) -> Scoring:
        """How validation scores (the evaluation protocol, `srlab.evaluation.protocol`)."""
        val = self.cfg.data.val
        if val is None or not self.ctx.is_main:
            return Scoring(crop_border=self._crop_border())
        lpips = LPIPS.from_files(*val.lpips_weights) if val.lpips_weights else None
        return Scoring(crop_border=self._crop_border(), niqe=val.niqe, lpips=lpips)

    def generator_for_eval(self) -> nn.Module:
        net = self.nets[self.cfg.recipe.generator]
        return net.ema.module if net.ema is not None else net.module

    def _validate(self, pairs) -> Scores | None:
        scores = None
        if self.ctx.is_main:
            scores, outputs = score_network(
                self.generator_for_eval(), self.generator_spec, pairs, self.device, self.scoring
            )
            self.log.scalars(self.iteration, {f"val/{k}": v for k, v in scores.means.items()})
            self.log.info(
                f"iteration {self.iteration}: val PSNR-Y {scores.psnr_y:.3f} dB, "
                f"SSIM-Y {scores.ssim_y:.4f}"
            )
            shown = min(self.cfg.train.sample_images, len(outputs))
            samples = {f"val/{pairs[i].name}": outputs[i] for i in range(shown)}
            self.log.images(self.iteration, samples)
        self.ctx.barrier()
        return scores

    def _export(self) -> None:
        """The trained generator as a self-describing model file for `srlab upscale`."""
        if not self.ctx.is_main:
            return
        name = self.cfg.recipe.generator
        options = dict(self.cfg.networks[name].options)
        options.setdefault("scale", self.cfg.scale)
        save_model(
            self.run_dir / MODEL_FILE, self.generator_for_eval(),
            arch=self.cfg.networks[name].arch, options=options, overwrite=True,
        )


def _build_recipe(cfg: RecipeConfig) -> Recipe:
    """The configured recipe; a failure to build it (loss options, a weights file it reads) is
    a ConfigError naming the recipe key."""
    try:
        return build_recipe(cfg)
    except ConfigError as exc:
        raise exc.under("recipe") from exc
    except Exception as exc:  # any failure to build from the settings is the settings' fault
        reason = first_line(exc)
        raise ConfigError(f"recipe: cannot build the {cfg.kind!r} recipe: {reason}") from exc


def _cpu_model() -> str:
    """The CPU's marketing name where the OS tells it (Linux), else what Python knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"
