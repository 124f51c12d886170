"""`srlab upscale --ray` on a local Ray cluster of 2 CPUs: the same bytes as the single-process
command, bad files reported one line each, and a killed run that resumes.

Ray is started once per module (about 10-20 s here); the model is a tiny EDSR file (each actor
receives its own copy of the loaded network), so the whole module stays near a minute.
"""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray
import torch
from PIL import Image

from srlab.archs.edsr import EDSR
from srlab.cli.main import main
from srlab.io import from_array, read_image, write_image
from srlab.io.temp_files import writer_pid
from srlab.zoo import save_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray():
    """A private Ray cluster of 2 CPUs in this process; `srlab upscale --ray` uses it as it is."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             logging_level=logging.ERROR, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    net = EDSR(scale=2, blocks=1, features=8)
    options = {"scale": 2, "blocks": 1, "features": 8}
    return save_model(tmp_path_factory.mktemp("model") / "tiny.safetensors", net, arch="edsr",
                      options=options)


def mixed_folder(root: Path) -> Path:
    """Good, 16-bit, RGBA, gray, JPEG and nested images, one truncated PNG and one non-image."""
    src = root / "in"
    (src / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rgb = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(src / "plain.png")
    Image.fromarray(rgb).save(src / "photo.jpg", quality=90)
    write_image(src / "deep16.png", from_array((rng.random((18, 22, 3)) * 65535).astype(np.uint16)))
    Image.fromarray((rng.random((18, 22)) * 65535).astype(np.uint16)).save(src / "gray16.png")
    rgba = np.dstack([rgb, (rng.random((20, 30)) * 255).astype(np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src / "nested" / "alpha.png")
    Image.fromarray(rgb[..., 1]).save(src / "nested" / "gray.png")
    good = (src / "plain.png").read_bytes()
    (src / "nested" / "truncated.png").write_bytes(good[: len(good) // 2])
    (src / "not_an_image.png").write_text("hello")
    return src


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def upscale(*args: str) -> int:
    return main(["upscale", *args, "--quiet"])


def test_ray_writes_what_the_cli_writes(local_ray, tiny_model, tmp_path, capsys):
    src = mixed_folder(tmp_path)
    assert upscale(str(src), "-o", str(tmp_path / "cli"), "--model", str(tiny_model)) == 2
    cli_err = capsys.readouterr().err
    code = upscale(str(src), "-o", str(tmp_path / "ray"), "--model", str(tiny_model),
                   "--ray", "--ray-actors", "2")
    ray_err = capsys.readouterr().err
    assert code == 2
    written = files(tmp_path / "ray")
    assert written == files(tmp_path / "cli")  # byte for byte, and no temporary files
    assert len(written) == 6
    for name in ("deep16.png", "gray16.png"):
        assert read_image(tmp_path / "ray" / name).bit_depth == 16
    assert read_image(tmp_path / "ray" / "nested" / "alpha.png").alpha is not None

    for err in (cli_err, ray_err):
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 2
        assert any("truncated.png" in line for line in errors)
        assert any("not_an_image.png" in line for line in errors)
    assert "6 written, 0 skipped, 2 failed" in ray_err

    # a second run skips everything, as the single-process command does
    again = upscale(str(src), "-o", str(tmp_path / "ray"), "--model", str(tiny_model), "--ray")
    assert again == 2 and "0 written, 6 skipped, 2 failed" in capsys.readouterr().err
    assert files(tmp_path / "ray") == written


def kill_session(leader: int) -> None:
    """SIGKILL every process left in the session that `leader` started (the killed driver's
    private Ray cluster), by process id."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == leader:  # field 6 of /proc/PID/stat: the session id
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def test_a_killed_ray_run_resumes(local_ray, tiny_model, tmp_path, capsys):
    """The driver and its private cluster are SIGKILLed mid-run (a scheduler's kill);
    the rerun skips what was finished and writes the rest, equal to an unbroken run."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(3)
    for i in range(16):
        base = rng.random((30, 40, 3))
        image = np.kron(base, np.ones((10, 10, 1))) * 255
        Image.fromarray(image.astype(np.uint8)).save(src / f"p{i:02d}.png")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "srlab.cli.main", "upscale", str(src), "-o", str(out),
               "--model", str(tiny_model), "--quiet", "--ray", "--ray-actors", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None and not list(out.glob("p*")):
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        kill_session(proc.pid)
    finished = sorted(p.name for p in out.glob("p*.png"))
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert 1 <= len(finished) < 16, "the run was not cut short; make its images larger"
    litter = [p for p in out.iterdir() if p.name.startswith(".")]
    assert all(writer_pid(p) is not None for p in litter)  # only srlab's own temporary files

    code = upscale(str(src), "-o", str(out), "--model", str(tiny_model), "--ray")
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{16 - len(finished)} written, {len(finished)} skipped, 0 failed" in err
    assert upscale(str(src), "-o", str(tmp_path / "whole"), "--model", str(tiny_model)) == 0
    resumed = {name: data for name, data in files(out).items() if not name.startswith(".")}
    assert resumed == files(tmp_path / "whole")
