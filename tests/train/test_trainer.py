"""The trainer end to end: exact resume, Ctrl-C checkpoints, GAN phases, exported model."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from srlab.archs import ARCHITECTURES, Architecture, ModelSpec
from srlab.config import load_config
from srlab.data import RFSPlanner, UniformPlanner
from srlab.train import checkpoint as ckpt
from srlab.train.data import build_train_loader
from srlab.train.schema import ExperimentConfig
from srlab.train.trainer import MODEL_FILE, Trainer
from srlab.zoo import load_model


def run(raw: dict, run_dir: Path, **overrides) -> Trainer:
    cfg = load_config(ExperimentConfig, raw, [f"{k}={v}" for k, v in overrides.items()])
    trainer = Trainer(cfg, run_dir=run_dir, progress=False)
    trainer.fit()
    return trainer


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))[0]


def test_resume_is_bit_identical(hr_folder, tiny_config, tmp_path):
    raw = tiny_config(hr_folder)
    run(raw, tmp_path / "straight")
    run(raw, tmp_path / "split", **{"train.iterations": 10})
    run(raw, tmp_path / "split")  # resumes at 10, runs to 20
    a, b = final_weights(tmp_path / "straight"), final_weights(tmp_path / "split")
    assert a.keys() == b.keys() == {"g", "g_ema"}
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs after resume"
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "split" / "checkpoints"))[1]
    assert state["iteration"] == 20


def test_run_directory_records(hr_folder, tiny_config, tmp_path):
    raw = tiny_config(hr_folder)
    raw["data"]["val"]["niqe"] = True
    raw["networks"]["g"]["clip_grad_norm"] = 0.5
    run(raw, tmp_path / "r")
    r = tmp_path / "r"
    assert load_config(ExperimentConfig, r / "config.yaml").train.iterations == 20
    lines = (r / "metrics.csv").read_text().splitlines()
    assert lines[0] == "iteration,name,value"
    names = {line.split(",")[1] for line in lines[1:]}
    assert {"train/l1", "val/psnr_y", "val/bicubic_psnr_y", "val/niqe", "lr/g"} <= names
    assert "val PSNR-Y" in (r / "train.log").read_text()
    kept = sorted(p.name for p in (r / "checkpoints").glob("iter_*"))
    assert kept == ["iter_00000010", "iter_00000020"]
    model = load_model(r / MODEL_FILE)  # the exported EMA generator serves `srlab upscale`
    ema = final_weights(r)["g_ema"]
    assert all(torch.equal(model.module.state_dict()[k], v) for k, v in ema.items())


def test_gradient_clipping_bounds_the_update(hr_folder, tiny_config, tmp_path, monkeypatch):
    seen = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        params = [p for p in params if p.grad is not None]
        original(params, max_norm)
        seen.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])))

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    raw = tiny_config(hr_folder, iterations=3)
    raw["networks"]["g"]["clip_grad_norm"] = 1e-3
    run(raw, tmp_path / "c")
    assert len(seen) == 3 and all(n <= 1e-3 * (1 + 1e-4) for n in seen)


def test_interrupt_saves_a_checkpoint(hr_folder, tiny_config, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = Trainer._train_step

    def flaky(self, batch):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_config(hr_folder), tmp_path / "i")
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "i" / "checkpoints"))[1]
    assert state["iteration"] == 6


def test_gan_recipe_steps_both_networks_from_a_pretrained_generator(
    hr_folder, tiny_config, tmp_path
):
    stage1 = run(tiny_config(hr_folder), tmp_path / "s1")
    raw = tiny_config(hr_folder, iterations=4, checkpoint_every=4, val_every=4)
    raw["networks"]["g"]["pretrained"] = str(stage1.run_dir / MODEL_FILE)
    raw["networks"]["d"] = {
        "arch": "vgg_discriminator", "options": {"input_size": 32, "features": 8},
    }
    raw["data"]["train"]["patch_size"] = 16
    raw["recipe"] = {"kind": "gan", "losses": [{"kind": "l1", "weight": 0.01}],
                     "gan_loss": "ragan", "gan_weight": 0.005}
    trainer = run(raw, tmp_path / "s2")
    before = load_file(stage1.run_dir / MODEL_FILE)
    after = final_weights(tmp_path / "s2")
    assert any(not torch.equal(before[k], after["g"][k]) for k in before)
    names = {line.split(",")[1] for line in (trainer.run_dir / "metrics.csv").read_text().split()}
    assert {"train/g_gan", "train/d_gan", "lr/d"} <= names


class TwoStepNet(torch.nn.Module):
    """A feedback-style toy generator returning one output per step."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.up = torch.nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        first = self.up(self.conv(x))
        return [first, first + self.up(self.conv(x * 0.5))]


def test_every_output_of_a_multi_output_generator_is_supervised(hr_folder, tiny_config, tmp_path):
    registry = {**ARCHITECTURES, "two": Architecture("two", TwoStepNet, ModelSpec(), "toy")}
    raw = tiny_config(hr_folder, iterations=2, log_every=1)
    raw["networks"]["g"] = {"arch": "two"}
    raw["recipe"] = {"losses": [{"kind": "l1"}], "step_weights": [0.5, 1.0]}
    cfg = load_config(ExperimentConfig, raw)
    trainer = Trainer(cfg, run_dir=tmp_path / "m", registry=registry, progress=False)
    batch = trainer._to_device(next(iter(build_train_loader(cfg, trainer.data, 0, trainer.ctx))))
    outputs = trainer.nets["g"].module(batch["lr"])
    phase = next(trainer.recipe.phases(batch, {"g": trainer.nets["g"].module}))
    hr = batch["hr"]
    expected = 0.5 * (outputs[0] - hr).abs().mean() + (outputs[1] - hr).abs().mean()
    torch.testing.assert_close(phase.loss, expected)
    assert set(phase.logs) == {"step0_l1", "step1_l1"}
    trainer.close()


def test_rfs_sampler_trains_and_resumes_exactly(hr_folder, tiny_config, tmp_path):
    raw = tiny_config(hr_folder, iterations=2, checkpoint_every=1, val_every=2)
    raw["data"]["val"] = None
    raw["data"]["train"]["sampler"] = "rfs"
    raw["data"]["train"]["rfs"] = {"intervals": 2, "calibration_samples": 64, "candidates": 8}
    straight = run(raw, tmp_path / "straight")
    assert isinstance(straight.data.planner, RFSPlanner)
    assert len(straight.data.planner.edges) == 3  # two intervals
    run(raw, tmp_path / "split", **{"train.iterations": 1})
    run(raw, tmp_path / "split")  # resumes at 1, runs to 2
    a, b = final_weights(tmp_path / "straight"), final_weights(tmp_path / "split")
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs after resume"
    uniform = run(raw, tmp_path / "uniform", **{"data.train.sampler": "uniform"})
    assert isinstance(uniform.data.planner, UniformPlanner)
    other = final_weights(uniform.run_dir)["g"]
    assert any(not torch.equal(a["g"][k], v) for k, v in other.items())  # RFS picked other patches
