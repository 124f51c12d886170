"""`srlab train` hardening: bad configs, data and run directories are one-line errors with exit
code 255 before any work; the run lock; damaged checkpoints fall back to intact ones."""

import errno
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from srlab.cli.main import USAGE_ERROR, main
from srlab.config import load_config
from srlab.train import checkpoint as ckpt
from srlab.train.runlock import LOCK_FILE
from srlab.train.schema import ExperimentConfig
from srlab.train.trainer import Trainer


@pytest.fixture
def config(hr_folder, tiny_config, tmp_path) -> dict:
    """A 2-iteration run without validation (checkpoints every 2)."""
    raw = tiny_config(hr_folder, iterations=2, checkpoint_every=2, val_every=2)
    raw["data"]["val"] = None
    return raw


def train(raw: dict, run_dir: Path, capsys, *overrides: str) -> tuple[int, list[str]]:
    """Run `srlab train` in this process: (exit code, stderr lines)."""
    file = run_dir.parent / f"{run_dir.name}.yaml"
    file.write_text(yaml.safe_dump(raw))
    args = ["train", str(file), "--run-dir", str(run_dir), "--quiet"]
    for item in overrides:
        args += ["--set", item]
    code = main(args)
    return code, capsys.readouterr().err.strip().splitlines()


def one_line_error(code: int, lines: list[str]) -> str:
    assert code == USAGE_ERROR, lines
    assert len(lines) == 1, lines  # one line, no traceback
    assert lines[0].startswith("srlab: error: ")
    return lines[0].removeprefix("srlab: error: ")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.checkpoint_every=0", "train.checkpoint_every: must be at least 1, got 0"),
        ("train.log_every=0", "train.log_every: must be at least 1, got 0"),
        ("train.val_every=0", "train.val_every: must be at least 1, got 0"),
        ("train.iterations=-5", "train.iterations: must be at least 1, got -5"),
        ("train.keep_checkpoints=-1", "train.keep_checkpoints: must be at least 0, got -1"),
        ("data.train.batch_size=0", "data.train.batch_size: must be at least 1, got 0"),
        ("data.train.patch_size=-3", "data.train.patch_size: must be at least 1, got -3"),
        ("data.train.num_workers=-1", "data.train.num_workers: must be at least 0, got -1"),
        ("data.train.rfs.intervals=0", "data.train.rfs.intervals: must be at least 1, got 0"),
        ("data.train.sampler=gauss",
         "data.train.sampler: expected one of 'uniform', 'rfs', got 'gauss'"),
        ("networks.g.ema_decay=1.5",
         "networks.g.ema_decay: must lie in [0, 1) (0: no EMA), got 1.5"),
        ("seed=-1", "seed: must be at least 0, got -1"),
        ("train.iteratons=5", "train.iteratons: unknown key (did you mean 'iterations'?)"),
    ],
)
def test_bad_values_fail_at_load_naming_the_key(config, tmp_path, capsys, override, message):
    run_dir = tmp_path / "run"
    assert one_line_error(*train(config, run_dir, capsys, override)) == message
    assert not run_dir.exists()  # nothing was started


def test_a_network_that_cannot_be_built_names_its_options(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    message = one_line_error(*train(config, run_dir, capsys, "networks.g.options.features=-32"))
    assert message.startswith("networks.g.options: cannot build 'edsr' from {")
    assert not run_dir.exists()
    message = one_line_error(*train(config, run_dir, capsys, "networks.g.options.colour=1"))
    assert message.startswith("networks.g.options: cannot build 'edsr'") and "colour" in message


@pytest.mark.parametrize(
    ("section", "key"), [("train", "hr_folder"), ("val", "folder")]
)
def test_a_missing_data_folder_names_its_key(config, hr_folder, tmp_path, capsys, section, key):
    missing = tmp_path / "nowhere"
    config["data"]["val"] = {"folder": str(hr_folder)}
    config["data"][section][key] = str(missing)
    message = one_line_error(*train(config, tmp_path / "run", capsys))
    assert message == f"data.{section}.{key}: {missing} does not exist or is not a folder"


def test_an_empty_training_folder_is_named(config, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    config["data"]["train"]["hr_folder"] = str(empty)
    message = one_line_error(*train(config, tmp_path / "run", capsys))
    assert message.startswith("data.train.hr_folder: no images") and str(empty) in message


def test_a_corrupt_training_image_is_named(config, hr_folder, tmp_path, capsys):
    folder = tmp_path / "photos"
    shutil.copytree(hr_folder, folder)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    config["data"]["train"]["hr_folder"] = str(folder)
    message = one_line_error(*train(config, tmp_path / "run", capsys))
    assert message.startswith("data.train.hr_folder: ") and "broken.png" in message


def test_patches_larger_than_the_images_name_the_patch_size(config, tmp_path, capsys):
    message = one_line_error(*train(config, tmp_path / "run", capsys, "data.train.patch_size=99"))
    assert message.startswith("data.train.patch_size: 5 image(s) have an LR side shorter")


def test_a_run_directory_that_is_a_file(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.write_text("not a folder")
    message = one_line_error(*train(config, run_dir, capsys))
    assert message == f"{run_dir}: the run directory is a file, not a folder"


def test_a_read_only_run_directory(config, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_dir.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permissions: refuse as the kernel does for other users
        real_open = os.open

        def refusing_open(path, flags, *args):
            if Path(path).parent == run_dir and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args)

        monkeypatch.setattr(os, "open", refusing_open)
    try:
        message = one_line_error(*train(config, run_dir, capsys))
    finally:
        run_dir.chmod(0o755)
    assert message == f"{run_dir}: the run directory is not writable (Permission denied)"


def test_a_live_trainers_lock_stops_a_second_trainer(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    first = Trainer(load_config(ExperimentConfig, config), run_dir=run_dir, progress=False)
    try:
        message = one_line_error(*train(config, run_dir, capsys))
    finally:
        first.close()
    lock = run_dir / LOCK_FILE
    assert message.startswith(f"{lock}: the run directory is in use by PID {os.getpid()};")
    assert not lock.exists()  # released by close()
    assert train(config, run_dir, capsys)[0] == 0  # free again


def test_a_lock_held_by_another_live_process(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run_dir / LOCK_FILE).write_text(f"{sleeper.pid} {socket.gethostname()}")
        message = one_line_error(*train(config, run_dir, capsys))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert message.startswith(f"{run_dir / LOCK_FILE}: the run directory is in use by PID"
                              f" {sleeper.pid};")
    assert (run_dir / LOCK_FILE).exists()  # not ours to remove


def test_a_stale_lock_is_taken_over_with_a_warning(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its PID names no process
    (run_dir / LOCK_FILE).write_text(f"{dead.pid} {socket.gethostname()}")
    code, lines = train(config, run_dir, capsys)
    assert code == 0
    assert lines == [
        f"srlab: warning: {run_dir / LOCK_FILE}: taking over the stale lock of PID {dead.pid}"
        " (not running)"
    ]
    assert not (run_dir / LOCK_FILE).exists()
    assert ckpt.latest_checkpoint(run_dir / "checkpoints").name == "iter_00000002"


def test_a_garbled_lock_file_is_an_error(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_FILE).write_text("garbage")
    message = one_line_error(*train(config, run_dir, capsys))
    assert message.startswith(f"{run_dir / LOCK_FILE}: unreadable lock file ('garbage')")


def test_the_lock_is_released_when_training_fails(config, tmp_path, capsys, monkeypatch):
    def broken(self, batch):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "_train_step", broken)
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"):
        train(config, run_dir, capsys)
    assert run_dir.is_dir() and not (run_dir / LOCK_FILE).exists()


def test_sigterm_saves_a_checkpoint_and_releases_the_lock(config, tmp_path, capsys, monkeypatch):
    original, calls = Trainer._train_step, []

    def terminated_in_second_step(self, batch):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or a scheduler's preemption
        return original(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", terminated_in_second_step)
    before = signal.getsignal(signal.SIGTERM)
    run_dir = tmp_path / "run"
    code, _ = train(config, run_dir, capsys, "train.iterations=5", "train.checkpoint_every=5")
    assert code == 130
    assert signal.getsignal(signal.SIGTERM) == before  # the CLI's handler is gone again
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))[1]
    assert state["iteration"] == 1
    assert not (run_dir / LOCK_FILE).exists()


class _Payload:
    """Pickles as a call that would create `path`: what a malicious state file carries."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return ckpt.load_checkpoint(ckpt.latest_checkpoint(run_dir / "checkpoints"))[0]["g"]


@pytest.mark.parametrize("damage", ["truncated", "malicious"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(config, tmp_path, capsys, damage):
    four = ("train.iterations=4",)
    assert train(config, tmp_path / "straight", capsys, "train.iterations=6")[0] == 0
    run_dir = tmp_path / "run"
    assert train(config, run_dir, capsys, *four)[0] == 0
    latest = ckpt.latest_checkpoint(run_dir / "checkpoints")
    assert latest.name == "iter_00000004"
    marker = tmp_path / "code-ran"
    if damage == "truncated":
        weights = latest / "g.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (latest / ckpt.STATE_FILE).write_bytes(pickle.dumps({"iteration": _Payload(marker)}))
    code, lines = train(config, run_dir, capsys, "train.iterations=6")
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith(
        f"srlab: warning: skipping checkpoint iter_00000004: {latest}: unreadable checkpoint ("
    )
    assert not marker.exists()  # the state file was never unpickled with code
    assert "resumed from" in (run_dir / "train.log").read_text()
    straight, resumed = _weights(tmp_path / "straight"), _weights(run_dir)
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)  # 2 + 4 = 6 exactly


def test_no_intact_checkpoint_is_an_error(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train(config, run_dir, capsys, "train.iterations=4")[0] == 0
    for folder in (run_dir / "checkpoints").glob("iter_*"):
        (folder / ckpt.STATE_FILE).write_bytes(b"\x80\x04truncated")
    code, lines = train(config, run_dir, capsys, "train.iterations=6")
    assert code == USAGE_ERROR
    assert [line.startswith("srlab: warning: skipping checkpoint") for line in lines] == [
        True, True, False
    ]
    assert lines[-1].startswith(
        f"srlab: error: {run_dir / 'checkpoints'}: none of its 2 checkpoint(s) can be resumed"
    )
    assert not (run_dir / LOCK_FILE).exists()


def test_resume_order_ignores_a_pointer_outside_the_checkpoints(tmp_path):
    for iteration in (2, 4, 6):
        ckpt.checkpoint_dir(tmp_path, iteration).mkdir()
    (tmp_path / ckpt.LATEST).write_text("../../etc\n")
    assert [p.name for p in ckpt.resume_order(tmp_path)] == [
        "iter_00000006", "iter_00000004", "iter_00000002"
    ]
    (tmp_path / ckpt.LATEST).write_text("iter_00000004\n")
    assert ckpt.resume_order(tmp_path)[0].name == "iter_00000004"
    assert ckpt.resume_order(tmp_path / "none") == []
