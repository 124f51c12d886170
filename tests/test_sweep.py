"""`srlab sweep`: noise lists, the measured curve, and its files."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.cli.main import USAGE_ERROR, main
from srlab.evaluation.benchmark import EvalError
from srlab.evaluation.sweep import parse_noises, sweep
from srlab.infer.options import UpscaleOptions


def test_noise_lists_and_progressions():
    assert parse_noises("1, 0,0.5") == [0.0, 0.5, 1.0]
    assert parse_noises("0,0.25,...,1") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(parse_noises("0,0.01,...,1")) == 101
    for bad in ("", "-1", "0,x", "0,0.5,...", "1,0.5,...,0", "0,...,1,2"):
        with pytest.raises(EvalError):
            parse_noises(bad)


@pytest.fixture(scope="module")
def crops(shared_dir: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crops")
    for name in ("opencv_baboon.png", "opencv_fruits.png"):
        image = Image.open(shared_dir / "data/photos/dev" / name).convert("RGB")
        w, h = image.size
        image.crop((w // 2 - 64, h // 2 - 48, w // 2 + 64, h // 2 + 48)).save(folder / name)
    return folder


def test_noise_trades_distortion_for_texture(crops: Path):
    report = sweep("gmgbp-r3", crops, 4, [0.0, 1.0], niqe=False, options=UpscaleOptions(half=False))
    faithful, textured = report.means
    assert report.columns == ("psnr_y", "ssim_y") and report.image_count == 2
    assert faithful["psnr_y"] > report.baseline["psnr_y"] + 1.0
    assert textured["psnr_y"] < faithful["psnr_y"] - 1.0


def test_models_without_noise_are_refused(crops: Path):
    with pytest.raises(EvalError, match="no noise input"):
        sweep("bicubic", crops, 4, [0.0])


def test_cli_writes_table_csv_and_plot_and_keeps_them(crops: Path, tmp_path: Path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", "--data", str(crops), "--noise", "0,1", "-o", str(out), "--no-niqe",
            "--max-images", "1"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| 0 |" in table and "| 1 |" in table and "| bicubic |" in table
    assert (out / "sweep.md").read_text() == table
    assert (out / "sweep.csv").read_text().splitlines()[0] == "W,psnr_y,ssim_y"
    with Image.open(out / "sweep.png") as plot:
        assert plot.format == "PNG" and np.asarray(plot).std() > 0
    before = (out / "sweep.png").read_bytes()
    assert main(args) == USAGE_ERROR
    assert (out / "sweep.png").read_bytes() == before


@pytest.mark.parametrize(
    "bad", [["--seed", "-1"], ["--tile", "big"], ["--tile-overlap", "-5"], ["--noise", "2,x"]]
)
def test_bad_options_are_one_usage_line_and_write_nothing(crops: Path, tmp_path: Path, capsys,
                                                          bad: list[str]):
    out = tmp_path / "sweep"
    args = ["sweep", "--data", str(crops), "--noise", "0,1", "-o", str(out), *bad]
    assert main(args) == USAGE_ERROR
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("srlab: error:")
    assert not out.exists()
