"""`srlab sampler-stats`: uniform vs Random Filter Sampling on a tiny generated training set."""

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from srlab.cli.main import USAGE_ERROR, main


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """Twelve flat images and four whose texture fades in, a uniform-sampler config over them
    (the command uses RFS whatever the config's sampler)."""
    root = tmp_path_factory.mktemp("stats")
    folder = root / "hr"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, 40)
    for i in range(16):
        if i < 12:
            pixels = 50 + 10 * i * ramp[None, :, None] + 2 * rng.random((40, 40, 3))
        else:
            fade = ramp[None, :, None] ** 2
            pixels = 128 + (i - 10) * 40 * fade * (rng.random((40, 40, 3)) - 0.5)
        Image.fromarray(np.rint(pixels.clip(0, 255)).astype(np.uint8)).save(folder / f"{i}.png")
    raw = {
        "name": "tiny-rfs",
        "scale": 2,
        "seed": 3,
        "data": {
            "train": {
                "hr_folder": str(folder),
                "patch_size": 8,
                "batch_size": 8,
                "sampler": "uniform",
                "rfs": {"calibration_samples": 1000},
            }
        },
        "networks": {"g": {"arch": "edsr", "options": {"blocks": 1, "features": 8}}},
        "train": {"iterations": 10},
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _shares(text: str) -> tuple[list[list[float]], float]:
    """Per interval (uniform planned, uniform, RFS, quota) and the top-decile factor."""
    rows = [
        [float(v) for v in re.findall(r"([\d.]+)%", line)]
        for line in text.splitlines()
        if re.match(r"\d+ +\S+ +\S+ +[\d.]+%", line)
    ]
    factor = re.search(r"above the uniform 90th PIC percentile .*\(([\d.]+)x\)", text)
    assert factor is not None, text
    return rows, float(factor.group(1))


def test_writes_the_figure_and_reports_quotas_and_oversampling(config, tmp_path, capsys):
    out = tmp_path / "stats.png"
    assert main(["sampler-stats", str(config), "-o", str(out), "--batches", "60"]) == 0
    text = capsys.readouterr().out
    rows, factor = _shares(text)
    assert len(rows) == 4
    planned, uniform, rfs, quota = (np.array(column) for column in zip(*rows, strict=True))
    np.testing.assert_allclose(planned, [53.3, 26.7, 13.3, 6.7], atol=0.05)  # tilt 2
    np.testing.assert_allclose(uniform, planned, atol=6)  # calibrated on other patches
    assert "RFS batches that met every quota: 60 of 60" in text
    np.testing.assert_allclose(rfs, quota)
    assert factor >= 2.5
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 200


def test_tilt_one_samples_like_uniform(config, tmp_path, capsys):
    out = tmp_path / "flat.png"
    argv = ["sampler-stats", str(config), "-o", str(out), "--batches", "60"]
    assert main([*argv, "--set", "data.train.rfs.tilt=1"]) == 0
    rows, factor = _shares(capsys.readouterr().out)
    assert [row[0] for row in rows] == [25.0] * 4
    assert 0.5 <= factor <= 1.6


def test_refuses_to_overwrite_and_reports_bad_settings_in_one_line(config, tmp_path, capsys):
    out = tmp_path / "kept.png"
    out.write_bytes(b"not yet")
    argv = ["sampler-stats", str(config), "-o", str(out), "--batches", "2"]
    assert main(argv) == USAGE_ERROR
    assert out.read_bytes() == b"not yet"
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--set", "data.train.rfs.tilt=0.5"]) == USAGE_ERROR
    err = capsys.readouterr().err
    assert "data.train.rfs.tilt: must be at least 1" in err and len(err.splitlines()) == 1
    assert main(["sampler-stats", str(tmp_path / "none.yaml")]) == USAGE_ERROR
    assert "no such config file" in capsys.readouterr().err
    assert _exit_code(["sampler-stats", str(config), "--batches", "0"]) == USAGE_ERROR
    assert "--batches: must be at least 1" in capsys.readouterr().err


def _exit_code(argv: list[str]) -> int | str | None:
    """main's return value, or the code of the SystemExit that argparse errors may raise."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code
