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


def test_an_unreadable_image_is_one_line_left_out_and_counted(crops: Path, tmp_path: Path,
                                                              capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    good = (crops / "opencv_fruits.png").read_bytes()
    (folder / "fruits.png").write_bytes(good)
    (folder / "cut.png").write_bytes(good[: len(good) // 3])
    out = tmp_path / "sweep"
    args = ["sweep", "--data", str(folder), "--noise", "0", "-o", str(out), "--no-niqe"]
    assert main(args) == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cut.png" in errors[0] and "Traceback" not in captured.err
    assert "mean over 1 images, crop border 4; 1 failed" in captured.out
    assert (out / "sweep.md").read_text() == captured.out


def test_a_folder_of_unreadable_images_is_a_usage_error(tmp_path: Path, capsys):
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    args = ["sweep", "--data", str(tmp_path), "--noise", "0", "-o", str(tmp_path / "out")]
    assert main(args) == USAGE_ERROR
    assert "none of its 1 images could be read" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
