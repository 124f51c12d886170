"""End-to-end engine checks: a tiny network beats bicubic on the dev photos, and 2-process DDP
training equals single-process training with the same global batch."""

import subprocess
import sys
from pathlib import Path

import torch
import yaml

from srlab.archs.edsr import EDSR
from srlab.train import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]


def train(args: list[str], *, launcher: list[str] | None = None) -> None:
    command = [*(launcher or [sys.executable]), "-m", "srlab.cli.main", "train", *args, "--quiet"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


# Shrinks a shipped config to two fp32 iterations of batch 2, validated on one image and
# checkpointed at the end (callers add the patch size and network sizes).
TWO_ITERATIONS = (
    "train.iterations=2", "train.checkpoint_every=2", "train.val_every=2",
    "train.tensorboard=false", "train.amp=false", "data.train.batch_size=2",
    "data.train.num_workers=0", "data.val.max_images=1",
)


def train_shrunk(config: str, run_dir: Path, overrides: list[str]) -> None:
    """Train a shipped config with `--set` overrides (e.g. to shrink it for a test)."""
    args = [config, "--run-dir", str(run_dir)]
    for item in overrides:
        args += ["--set", item]
    train(args)


def metric(run_dir: Path, name: str) -> float:
    rows = [line.split(",") for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]]
    return float([value for _, key, value in rows if key == name][-1])


def test_tiny_config_beats_bicubic_on_dev_photos(shared_dir, tmp_path):
    """configs/tiny-x2.yaml: 300 iterations of a 4-block EDSR on the training photos."""
    run_dir = tmp_path / "tiny"
    train(["configs/tiny-x2.yaml", "--run-dir", str(run_dir), "--set", "train.tensorboard=false"])
    ours, bicubic = metric(run_dir, "val/psnr_y"), metric(run_dir, "val/bicubic_psnr_y")
    assert ours > bicubic + 0.15, f"PSNR-Y {ours:.3f} dB vs bicubic {bicubic:.3f} dB"
    assert metric(run_dir, "val/ssim_y") > metric(run_dir, "val/bicubic_ssim_y")


def test_two_process_ddp_equals_one_process(shared_dir, tmp_path):
    cfg = {
        "name": "ddp",
        "scale": 2,
        "seed": 1,
        "data": {"train": {"hr_folder": str(shared_dir / "data/photos/dev"), "patch_size": 12,
                           "batch_size": 4}},
        "networks": {"g": {"arch": "edsr", "options": {"blocks": 1, "features": 8},
                           "optimizer": {"lr": 1e-3}}},
        "train": {"iterations": 4, "checkpoint_every": 4, "tensorboard": False},
    }
    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump(cfg))
    train([str(config), "--run-dir", str(tmp_path / "one")])
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2"]
    train([str(config), "--run-dir", str(tmp_path / "two")], launcher=torchrun)
    one = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "one" / "checkpoints"))[0]
    two = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "two" / "checkpoints"))[0]
    torch.manual_seed(1)  # the trainer seeds before building, so this is the initial state
    start = EDSR(scale=2, blocks=1, features=8).state_dict()
    moved = False
    for k, v in one["g"].items():
        torch.testing.assert_close(two["g"][k], v, rtol=1e-5, atol=1e-6)
        moved |= not torch.equal(v, start[k])
    assert moved  # the comparison is between trained weights, not two untouched copies


def test_torch_compile_option_trains_like_eager(shared_dir, tmp_path):
    cfg = {
        "name": "c",
        "scale": 2,
        "data": {"train": {"hr_folder": str(shared_dir / "data/photos/dev"), "patch_size": 12,
                           "batch_size": 4}},
        "networks": {"g": {"arch": "edsr", "options": {"blocks": 1, "features": 8}}},
        "train": {"iterations": 3, "checkpoint_every": 3, "tensorboard": False},
    }
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(cfg))
    train([str(config), "--run-dir", str(tmp_path / "eager")])
    train([str(config), "--run-dir", str(tmp_path / "compiled"), "--set", "train.compile=true"])
    eager = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "eager" / "checkpoints"))[0]
    comp = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "compiled" / "checkpoints"))[0]
    for k, v in eager["g"].items():
        torch.testing.assert_close(comp["g"][k], v, rtol=1e-4, atol=1e-5)


def test_every_shipped_config_is_valid():
    from srlab.config import load_config
    from srlab.train.schema import ExperimentConfig

    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        load_config(ExperimentConfig, path)


def test_gmgbp_stage2_runs_with_its_discriminator(shared_dir, tmp_path):
    """configs/gmgbp-stage2-x4.yaml, shrunk: both networks train and checkpoint."""
    run_dir = tmp_path / "gmgbp"
    overrides = [
        *TWO_ITERATIONS, "data.train.patch_size=8", "data.val.niqe=false",
        "networks.g.pretrained=null",
        "networks.g.options.features=8", "networks.g.options.growth=4",
        "networks.d.options.features=8", "networks.d.options.growth=4",
        "recipe.configurations=[1,2]",
    ]
    train_shrunk("configs/gmgbp-stage2-x4.yaml", run_dir, overrides)
    weights, _ = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))
    assert set(weights) == {"g", "d"}
    logged = (run_dir / "metrics.csv").read_text()
    for name in ("train/L2_l1", "train/L2_bp_w1", "train/L2_g_gan", "train/d_gan", "val/psnr_y"):
        assert name in logged


def test_srrescycgan_stage_b_runs_all_four_networks(shared_dir, tmp_path):
    """configs/srrescycgan-stageB-x4.yaml, shrunk: the four networks train and checkpoint."""
    run_dir = tmp_path / "cycle"
    overrides = [
        *TWO_ITERATIONS, "data.train.patch_size=8",
        "networks.d_x.options.input_size=32", "networks.d_x.options.features=8",
        "networks.g_lr.options={features: 8, blocks: 1}",
        "networks.d_y.options={features: 8}",
    ]
    train_shrunk("configs/srrescycgan-stageB-x4.yaml", run_dir, overrides)
    weights, _ = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))
    assert set(weights) == {"g", "d_x", "g_lr", "d_y"}
    logged = (run_dir / "metrics.csv").read_text()
    for name in ("train/l1", "train/cycle", "train/g_lr_gan", "train/d_x", "train/d_y"):
        assert name in logged


def test_sigterm_saves_a_checkpoint_before_exiting(shared_dir, tmp_path):
    """A killed (or preempted) training run keeps its progress."""
    import signal
    import time

    run_dir = tmp_path / "term"
    command = [sys.executable, "-m", "srlab.cli.main", "train", "configs/tiny-x2.yaml",
               "--run-dir", str(run_dir), "--quiet", "--set", "train.iterations=1000000",
               "--set", "train.log_every=1", "--set", "train.checkpoint_every=1000000",
               "--set", "train.tensorboard=false", "--set", "data.val=null"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    metrics = run_dir / "metrics.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        metrics.exists() and len(metrics.read_text().splitlines()) > 5
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    latest = ckpt.latest_checkpoint(run_dir / "checkpoints")
    assert latest is not None and int(latest.name.split("_")[1]) >= 1
    assert not (run_dir / "train.lock").exists()  # released on the way out


def test_fast_srfbn_stage2_supervises_every_step(shared_dir, tmp_path, random_vgg_state):
    """configs/fast-srfbn-stage2-x16.yaml, shrunk: the four steps each get every pixel term, the
    last one the GAN term, against the self-attention discriminator."""
    from safetensors.torch import save_file

    vgg = tmp_path / "vgg19.safetensors"
    save_file(random_vgg_state(), vgg)
    run_dir = tmp_path / "srfbn"
    overrides = [
        *TWO_ITERATIONS, "data.train.patch_size=2",
        "networks.g.options={scale: 16, features: 16, steps: 4, blocks: 1}",
        "networks.d.options={input_size: 32, conv_bias: true, attention: true, features: 16}",
        f"recipe.losses[1].options.weights_path={vgg}",
    ]
    train_shrunk("configs/fast-srfbn-stage2-x16.yaml", run_dir, overrides)
    logged = (run_dir / "metrics.csv").read_text()
    for step in range(4):
        for term in ("l1", "perceptual", "tv_squared", "fourier"):
            assert f"train/step{step}_{term}" in logged
    assert "train/g_gan" in logged and "train/d_gan" in logged
