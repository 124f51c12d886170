"""`srlab eval` and `srlab.evaluation.benchmark`: scores equal an independent re-computation of
the protocol, outputs are complete and safe, random degradations are reproducible."""

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srlab.archs.edsr import EDSR
from srlab.cli.main import USAGE_ERROR, main
from srlab.evaluation.benchmark import MEAN, EvalReport, evaluate
from srlab.infer.options import UpscaleOptions
from srlab.metrics import LPIPS, lpips_distance, niqe, psnr, ssim
from srlab.ops.resize import imresize
from srlab.zoo import save_model

PHOTO = "photo.png"
IMAGES = ["a_gradient.png", "b_gray.png", "nested/c_alpha.png", PHOTO]


@pytest.fixture(scope="module")
def hr_folder(tmp_path_factory, shared_dir: Path) -> Path:
    """Three small synthetic images (RGB, gray, RGBA in a subfolder) and a real photo crop."""
    folder = tmp_path_factory.mktemp("hr")
    (folder / "nested").mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:45, 0:53]
    ramp = np.dstack([xx * 4, yy * 5, (xx + yy) * 2]) + rng.normal(0, 12, (45, 53, 3))
    Image.fromarray(np.clip(ramp, 0, 255).astype(np.uint8)).save(folder / "a_gradient.png")
    gray = (rng.random((38, 41)) * 255).astype(np.uint8)
    Image.fromarray(gray).save(folder / "b_gray.png")
    rgba = np.dstack([ramp[:30, :36].clip(0, 255), rng.random((30, 36)) * 255])
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(folder / "nested" / "c_alpha.png")
    with Image.open(shared_dir / "data" / "photos" / "dev" / "opencv_fruits.png") as im:
        im.convert("RGB").crop((150, 200, 363, 317)).save(folder / PHOTO)  # 213 x 117
    return folder


@pytest.fixture(scope="module")
def bicubic_x2(hr_folder: Path) -> EvalReport:
    return evaluate("bicubic", hr_folder, 2)


def _protocol(path: Path, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """HR and bicubic SR as uint8 arrays, rebuilt from Pillow, numpy and MATLAB imresize."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))  # gray -> three channels, alpha dropped
    h, w = rgb.shape[0] // scale * scale, rgb.shape[1] // scale * scale
    hr = rgb[:h, :w]
    lr = np.floor(imresize(hr / 255.0, 1 / scale) * 255 + 0.5).clip(0, 255).astype(np.uint8)
    sr = imresize(lr.astype(np.float32) / np.float32(255), scale).clip(0, 1)
    return hr, np.floor(sr * 255 + 0.5).astype(np.uint8)


def _rows(report: EvalReport, method: str) -> dict[str, dict[str, float]]:
    return {r.image: r.scores for r in report.rows if r.method == method}


def _random_lpips_weights(path: Path) -> Path:
    """Seeded random AlexNet LPIPS weights, torchvision backbone keys + lpips head keys."""
    g = torch.Generator().manual_seed(0)
    convs = {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3), 8: (256, 384, 3),
             10: (256, 256, 3)}  # fmt: skip
    state = {}
    for i, (c_out, c_in, k) in convs.items():
        std = (2.0 / (c_in * k * k)) ** 0.5
        state[f"features.{i}.weight"] = torch.randn(c_out, c_in, k, k, generator=g) * std
        state[f"features.{i}.bias"] = torch.randn(c_out, generator=g) * 0.1
    for k, c in enumerate((64, 192, 384, 256, 256)):
        state[f"lin{k}.model.1.weight"] = torch.rand(1, c, 1, 1, generator=g)
    torch.save(state, path)
    return path


def _eval_cli(folder: Path, *extra: str) -> list[str]:
    return ["eval", "--model", "bicubic", "--data", str(folder), "--scale", "2", *extra]


def test_bicubic_rows_equal_an_independent_recomputation(bicubic_x2, hr_folder):
    assert bicubic_x2.methods == ("bicubic",)  # the model is the baseline: shown once
    assert [r.image for r in bicubic_x2.rows] == sorted(IMAGES)
    assert bicubic_x2.columns == ("psnr_y", "ssim_y") and not bicubic_x2.failed
    for name, scores in _rows(bicubic_x2, "bicubic").items():
        hr, sr = _protocol(hr_folder / name, 2)
        assert scores["psnr_y"] == pytest.approx(psnr(hr, sr, crop_border=2), abs=1e-9)
        assert scores["ssim_y"] == pytest.approx(ssim(hr, sr, crop_border=2), abs=1e-12)


def test_real_photo_at_x2_scores_in_a_plausible_range(bicubic_x2):
    scores = _rows(bicubic_x2, "bicubic")[PHOTO]
    assert math.isfinite(scores["psnr_y"]) and 20 < scores["psnr_y"] < 40
    assert 0 < scores["ssim_y"] < 1


def test_mean_row_is_the_mean_of_the_image_rows(bicubic_x2):
    (mean,) = bicubic_x2.means
    assert (mean.image, mean.method) == (MEAN, "bicubic")
    for column in ("psnr_y", "ssim_y"):
        values = [r.scores[column] for r in bicubic_x2.rows]
        assert len(values) == 4
        assert mean.scores[column] == pytest.approx(sum(values) / 4, rel=1e-12)


def test_a_network_is_scored_beside_the_bicubic_baseline(bicubic_x2, hr_folder, tmp_path):
    torch.manual_seed(0)
    weights = save_model(
        tmp_path / "tiny.safetensors",
        EDSR(scale=2, blocks=1, features=8),
        arch="edsr",
        options={"scale": 2, "blocks": 1, "features": 8},
    )
    several_tiles = UpscaleOptions(tile=80)  # on the photo (EDSR overlaps tiles by 40)
    report = evaluate(weights, hr_folder, 2, options=several_tiles)
    assert report.methods == ("bicubic", "tiny.safetensors")
    assert [(r.image, r.method) for r in report.rows[:2]] == [
        (IMAGES[0], "bicubic"), (IMAGES[0], "tiny.safetensors")
    ]
    assert _rows(report, "bicubic") == _rows(bicubic_x2, "bicubic")
    network, baseline = _rows(report, "tiny.safetensors"), _rows(report, "bicubic")
    assert network.keys() == baseline.keys()
    assert all(network[name]["psnr_y"] != baseline[name]["psnr_y"] for name in baseline)
    assert [m.method for m in report.means] == ["bicubic", "tiny.safetensors"]


def test_cli_prints_the_table_and_writes_csv_and_markdown(bicubic_x2, hr_folder, tmp_path, capsys):
    out_csv, out_md = tmp_path / "scores.csv", tmp_path / "deep" / "table.md"
    assert main(_eval_cli(hr_folder, "--csv", str(out_csv), "--markdown", str(out_md))) == 0
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    assert lines[0] == "Model bicubic, x2, degradation BI (seed 0), crop border 2, 4 images"
    assert lines[2] == "| image | method | PSNR-Y (dB) | SSIM-Y |"
    assert len(lines) == 3 + 1 + 4 + 1 and "LPIPS" not in stdout and "NIQE" not in stdout
    photo = _rows(bicubic_x2, "bicubic")[PHOTO]
    assert f"| {PHOTO} | bicubic | {photo['psnr_y']:.2f} | {photo['ssim_y']:.4f} |" in lines
    assert lines[-1].startswith("| **mean** | bicubic |")
    assert out_md.read_text() == stdout

    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [*bicubic_x2.rows, *bicubic_x2.means]
    assert [(r["image"], r["method"]) for r in rows] == [(e.image, e.method) for e in expected]
    for row, want in zip(rows, expected, strict=True):
        assert float(row["psnr_y"]) == want.scores["psnr_y"]  # full precision, exactly
        assert float(row["ssim_y"]) == want.scores["ssim_y"]
    assert not list(tmp_path.rglob(".*"))  # no temporary files left


def test_existing_outputs_are_refused_unless_overwrite(hr_folder, tmp_path, capsys):
    out_csv, out_md = tmp_path / "scores.csv", tmp_path / "table.md"
    out_csv.write_text("someone's results")
    args = _eval_cli(hr_folder, "--csv", str(out_csv), "--markdown", str(out_md))
    assert main(args) == USAGE_ERROR
    captured = capsys.readouterr()
    assert captured.out == "" and "scores.csv exists" in captured.err  # nothing computed
    assert out_csv.read_text() == "someone's results" and not out_md.exists()
    assert main([*args, "--overwrite"]) == 0
    assert out_csv.read_text().startswith("image,method,psnr_y,ssim_y")
    assert out_md.exists()


def test_a_corrupt_image_is_reported_skipped_and_counted(hr_folder, tmp_path, capsys):
    folder = tmp_path / "hr"
    shutil.copytree(hr_folder, folder)
    good = (folder / PHOTO).read_bytes()
    (folder / "broken.png").write_bytes(good[: len(good) // 3])
    Image.new("RGB", (1, 1)).save(folder / "dot.png")  # smaller than the scale
    (folder / "notes.txt").write_text("not an image: ignored")
    assert main(_eval_cli(folder)) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "broken.png" in errors[0]
    assert errors[1] == f"error: {folder / 'dot.png'}: image of 1x1 is smaller than the scale"
    assert "4 images; 2 failed" in captured.out.splitlines()[0]
    assert "broken.png" not in captured.out and f"| {PHOTO} |" in captured.out


def test_dn_degradation_is_reproducible_for_a_seed(bicubic_x2, hr_folder):
    seed7 = UpscaleOptions(seed=7)
    first = evaluate("bicubic", hr_folder, 2, degradation="DN", options=seed7)
    again = evaluate("bicubic", hr_folder, 2, degradation="DN", options=seed7)
    other = evaluate("bicubic", hr_folder, 2, degradation="DN", options=UpscaleOptions(seed=8))
    assert first.rows == again.rows
    assert all(a.scores != b.scores for a, b in zip(first.rows, other.rows, strict=True))
    assert all(a.scores != b.scores for a, b in zip(first.rows, bicubic_x2.rows, strict=True))
    # Each image's noise depends only on the seed and its place in the sorted list.
    head = evaluate("bicubic", hr_folder, 2, degradation="DN", options=seed7, max_images=2)
    assert head.rows == first.rows[:2]
    assert first.degradation == "DN" and first.seed == 7


def test_lpips_and_niqe_columns_appear_only_when_asked(hr_folder, tmp_path, capsys):
    folder = tmp_path / "photo"
    folder.mkdir()
    shutil.copy(hr_folder / PHOTO, folder / PHOTO)
    weights = _random_lpips_weights(tmp_path / "lpips_alex.pth")
    out_csv = tmp_path / "scores.csv"
    args = _eval_cli(folder, "--lpips-weights", str(weights), "--niqe", "--csv", str(out_csv))
    assert main(args) == 0
    stdout = capsys.readouterr().out
    assert "| image | method | PSNR-Y (dB) | SSIM-Y | NIQE | LPIPS |" in stdout
    assert "LPIPS on the full image" in stdout.splitlines()[0]
    with out_csv.open(newline="") as f:
        image_row = next(csv.DictReader(f))
    hr, sr = _protocol(folder / PHOTO, 2)
    expected_lpips = lpips_distance(hr, sr, LPIPS.from_files(weights))
    assert expected_lpips > 0
    assert float(image_row["lpips"]) == pytest.approx(expected_lpips, rel=1e-6)
    assert float(image_row["niqe"]) == pytest.approx(niqe(sr, crop_border=2), rel=1e-9)


def test_unusable_lpips_weights_are_one_usage_error_line(hr_folder, tmp_path, capsys):
    broken = tmp_path / "heads_only.pth"
    torch.save({"lin0.model.1.weight": torch.zeros(1, 3, 1, 1)}, broken)
    assert main(_eval_cli(hr_folder, "--lpips-weights", str(broken))) == USAGE_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("srlab: error:") and "missing features.0.weight" in line


@pytest.mark.parametrize(
    "change",
    [
        {"--data": "missing-folder"},
        {"--data": "empty"},
        {"--degradation": "sharpen"},
        {"--model": "no-such-model"},
        {"--noise": "0.5"},
        {"--max-images": "0"},
        {"--seed": "-1"},
        {"--seed": str(2**70)},
        {"--tile": "big"},
        {"--tile": "-1"},
        {"--tile-overlap": "-5"},
        {"--noise": "nan"},
        {"--device": "tpu"},
        {"--csv": "same.out", "--markdown": "same.out"},
    ],
)
def test_usage_errors_compute_and_write_nothing(hr_folder, tmp_path, capsys, change):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    options = {"--model": "bicubic", "--data": str(hr_folder), "--scale": "2", **change}
    for key in ("--data", "--csv", "--markdown"):
        if key in change:
            options[key] = str(tmp_path / change[key])
    args = ["eval", *(item for pair in options.items() for item in pair)]
    assert main(args) == USAGE_ERROR
    captured = capsys.readouterr()
    assert captured.out == "" and "srlab: error:" in captured.err
    assert not (tmp_path / "same.out").exists()
