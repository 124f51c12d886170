"""`srlab upscale` on a realistic folder: every kind of file handled, nothing lost."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.cli.main import USAGE_ERROR, main


def _exif_rotated_jpeg(path: Path) -> None:
    """A 40x24 JPEG whose EXIF says 'rotate 90° clockwise to display' (orientation 6)."""
    img = Image.new("RGB", (40, 24), (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, 10, 24))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, exif=exif, quality=95)


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rgb = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(src / "plain.png")
    Image.fromarray((rng.random((18, 22)) * 65535).astype(np.uint16)).save(src / "deep16.png")
    rgba = np.dstack([rgb, np.full((20, 30), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src / "nested" / "alpha.png")
    Image.fromarray(rgb[..., 0]).save(src / "gray.jpg", quality=90)
    Image.fromarray(rgb).quantize(16).save(src / "palette.png")
    _exif_rotated_jpeg(src / "nested" / "rotated.jpg")
    good = (src / "plain.png").read_bytes()
    (src / "corrupt.png").write_bytes(good[: len(good) // 2])
    (src / "notes.txt").write_text("not an image; ignored in folders")
    return src


def test_folder_with_every_kind_of_file(photo_folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    code = main(["upscale", str(photo_folder), "-o", str(out), "--scale", "2", "--quiet"])
    assert code == 1  # exactly one file failed: the corrupt PNG
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failed) == 1 and "corrupt.png" in failed[0]
    assert not (out / "corrupt.png").exists()

    with Image.open(out / "plain.png") as im:
        assert im.size == (60, 40) and im.mode == "RGB"
    with Image.open(out / "deep16.png") as im:
        assert im.size == (44, 36) and im.mode.startswith("I")
        assert np.asarray(im).max() > 255  # still 16-bit
    with Image.open(out / "nested" / "alpha.png") as im:
        assert im.mode == "RGBA"
        assert abs(int(np.asarray(im)[..., 3].mean()) - 128) <= 1
    with Image.open(out / "gray.jpg") as im:
        assert im.mode == "L" and im.size == (60, 40)
    with Image.open(out / "palette.png") as im:
        assert im.mode == "RGB" and im.size == (60, 40)
    with Image.open(out / "nested" / "rotated.jpg") as im:
        assert im.size == (48, 80)  # 24x40 once rotated, doubled
        assert im.getexif().get(0x0112, 1) == 1
        top = np.asarray(im)[:10].astype(int)
        assert top[..., 2].mean() > top[..., 0].mean()  # the blue stripe is now on top
    assert not list(out.rglob(".*"))  # no temporary files left behind
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == sorted(
        ["plain.png", "deep16.png", "alpha.png", "gray.jpg", "palette.png", "rotated.jpg"]
    )


def test_existing_outputs_are_skipped_unless_overwrite(photo_folder: Path, tmp_path: Path):
    (photo_folder / "corrupt.png").unlink()
    out = tmp_path / "out"
    assert main(["upscale", str(photo_folder), "-o", str(out), "--quiet"]) == 0
    target = out / "plain.png"
    target.write_bytes(b"user's own file")
    assert main(["upscale", str(photo_folder), "-o", str(out), "--quiet"]) == 0
    assert target.read_bytes() == b"user's own file"
    assert main(["upscale", str(photo_folder), "-o", str(out), "--quiet", "--overwrite"]) == 0
    with Image.open(target) as im:
        assert im.size == (120, 80)


def test_single_file_to_named_output_and_glob(photo_folder: Path, tmp_path: Path):
    single = tmp_path / "single.png"
    assert main(["upscale", str(photo_folder / "plain.png"), "-o", str(single), "--quiet"]) == 0
    with Image.open(single) as im:
        assert im.size == (120, 80)
    out = tmp_path / "globbed"
    pattern = str(photo_folder / "**" / "*.jpg")
    assert main(["upscale", pattern, "-o", str(out), "--quiet", "--scale", "3"]) == 0
    assert (out / "gray.jpg").exists() and (out / "nested" / "rotated.jpg").exists()


def test_tiled_cli_output_equals_untiled(photo_folder: Path, tmp_path: Path):
    src = photo_folder / "plain.png"
    common = ["--quiet", "--model", "bicubic"]
    main(["upscale", str(src), "-o", str(tmp_path / "a.png"), "--tile", "0", *common])
    main(["upscale", str(src), "-o", str(tmp_path / "b.png"), "--tile", "8", "--tile-overlap",
          "4", *common])
    a = np.asarray(Image.open(tmp_path / "a.png")).astype(int)
    b = np.asarray(Image.open(tmp_path / "b.png")).astype(int)
    assert np.abs(a - b).max() <= 1


@pytest.mark.parametrize(
    "extra",
    [["--model", "no-such-model"], ["--model", "bicubic", "--noise", "0.5"], ["--noise", "-1"],
     ["--noise", "0.5", "--ensemble"], ["--tile", "16", "--tile-overlap", "9"],
     ["--device", "tpu"]],
)
def test_usage_errors_write_nothing(photo_folder: Path, tmp_path: Path, extra, capsys):
    out = tmp_path / "out"
    assert main(["upscale", str(photo_folder / "plain.png"), "-o", str(out), *extra]) == USAGE_ERROR
    assert "srlab: error:" in capsys.readouterr().err
    assert not out.exists()


def test_missing_input_and_self_overwrite_are_refused(photo_folder: Path, tmp_path: Path):
    assert main(["upscale", str(tmp_path / "nope.png"), "-o", str(tmp_path)]) == USAGE_ERROR
    assert main(["upscale", str(photo_folder), "-o", str(photo_folder)]) == USAGE_ERROR


def test_console_script_runs(photo_folder: Path, tmp_path: Path):
    exe = Path(sys.executable).with_name("srlab")
    command = [str(exe)] if exe.exists() else [shutil.which("srlab") or "srlab"]
    result = subprocess.run(
        [*command, "upscale", str(photo_folder / "plain.png"), "-o", str(tmp_path / "o")],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0, result.stderr
    assert "1 written, 0 skipped, 0 failed" in result.stderr
