"""`srlab upscale` against a hostile user: bombs under a memory cap, outputs aimed at inputs,
OUT inside IN, climbing globs, killed and signalled runs, absurd options, odd file names, and
the everyday size and format options on odd sizes. Every file is generated here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.cli.main import USAGE_ERROR, main
from srlab.io.temp_files import writer_pid

FAST = ["--model", "bicubic", "--quiet"]


def _photo(path: Path, size: tuple[int, int] = (21, 17), mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = (rng.random((size[1], size[0], channels)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.squeeze(), mode).save(path)
    return path


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if writer_pid(p) is not None]


def _stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


# --- memory: bombs are refused from the header, before anything large is allocated ---------


def _png_bomb(path: Path, side: int = 10_000) -> Path:
    """A valid 1-bit PNG of side x side black pixels: about 12 kB that decode to 100 million
    gray pixels (0.4 GB as floats, 24 GB of output work at x4)."""
    row = b"\x00" + bytes(side // 8)
    data = zlib.compress(row * side, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def _jpeg_bomb(path: Path) -> Path:
    """A ~600-byte JPEG whose header claims 10000 x 10000 pixels (its scan is cut short)."""
    Image.new("L", (16, 16), 128).save(path, quality=50)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (10_000).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))
    return path


_PEAK_RSS = """
import resource, sys
from srlab.cli.main import main
code = main(sys.argv[1:])
print("peak", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)
sys.exit(code)
"""


def test_bombs_are_refused_under_a_memory_cap_before_anything_large_is_allocated(tmp_path):
    """At x16 even the PNG written in bands of rows needs more than the cap: a band of one
    row of the smallest tiles is 1024 rows of 160000 pixels."""
    folder = tmp_path / "in"
    folder.mkdir()
    png = _png_bomb(folder / "bomb.png")
    jpeg = _jpeg_bomb(folder / "bomb.jpg")
    assert png.stat().st_size < 20_000 and jpeg.stat().st_size < 1_000
    command = [sys.executable, "-c", _PEAK_RSS, "upscale", str(folder), "-o", str(tmp_path / "out"),
               "--scale", "16", "--max-memory", "2G", *FAST]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr  # two images failed
    lines = result.stderr.splitlines()
    png_line = next(line for line in lines if "bomb.png" in line)
    assert png_line.startswith("error: cannot upscale ")
    assert "--max-memory allows 2.0 GiB" in png_line
    assert "(this PNG is already written in bands of rows)" in png_line
    needed = float(png_line.split("needs about ")[1].split(" GiB")[0])
    assert needed > 2  # the band alone: 1024 x 160000 x 3 x 4 bytes = 1.8 GiB
    assert any("bomb.jpg" in line and line.startswith("error: cannot read") for line in lines)
    peak = int(lines[-1].split()[1])
    # vs ~24 GiB if it had run. Alone the child peaks below 1.5 GiB; once, in the full parallel
    # suite on a loaded machine, it reached 3.5 GiB (cause not yet found: issue 19 stays open)
    assert peak < 6 * 2**30, f"peak RSS {peak / 2**20:.0f} MiB"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_bomb_made_whole_for_another_format_is_refused_saying_only_png_is_banded(
    tmp_path, capsys
):
    """At x4 the PNG bomb would fit in bands; as JPEG (made whole) it needs 24 GiB."""
    png = _png_bomb(tmp_path / "bomb.png")
    out = tmp_path / "out"
    args = ["upscale", str(png), "-o", str(out), "--format", "jpg", "--scale", "4",
            "--max-memory", "2G", *FAST]
    assert main(args) == 1
    line = next(line for line in _stderr_lines(capsys) if line.startswith("error:"))
    assert line.startswith("error: cannot upscale ") and "40000x40000 gray" in line
    assert float(line.split("needs about ")[1].split(" GiB")[0]) > 19
    assert line.endswith("(only PNG is written in bands of rows; JPEG needs the whole image)")
    assert not out.exists() or not any(out.iterdir())


# --- an input is never written ---------------------------------------------------------------


@pytest.mark.parametrize("link", ["same", "hard", "symbolic"])
def test_a_single_output_that_is_the_input_is_refused_even_with_overwrite(tmp_path, link, capsys):
    src = _photo(tmp_path / "in" / "photo.png")
    original = src.read_bytes()
    target = src
    if link != "same":
        target = tmp_path / "out" / "photo.png"
        target.parent.mkdir()
        (os.link if link == "hard" else os.symlink)(src, target)
    code = main(["upscale", str(src), "-o", str(target), "--overwrite", *FAST])
    assert code == USAGE_ERROR
    lines = _stderr_lines(capsys)
    assert len(lines) == 1 and "would replace the input" in lines[0]
    assert src.read_bytes() == original


def test_a_folder_output_linked_to_an_input_is_refused(tmp_path, capsys):
    src = _photo(tmp_path / "in" / "photo.png")
    (tmp_path / "out").mkdir()
    os.link(src, tmp_path / "out" / "photo.png")
    folders = [str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    code = main(["upscale", *folders, "--overwrite", *FAST])
    assert code == USAGE_ERROR and "would replace the input" in _stderr_lines(capsys)[0]
    assert Image.open(src).size == (21, 17)


def test_an_output_in_another_format_that_would_land_on_an_input_is_refused(tmp_path, capsys):
    _photo(tmp_path / "in" / "a.jpg")
    png = _photo(tmp_path / "in" / "a.png", seed=1)
    original = png.read_bytes()
    folder = str(tmp_path / "in")
    code = main(["upscale", folder, "-o", folder, "--format", "png", "--overwrite", *FAST])
    assert code == USAGE_ERROR
    lines = _stderr_lines(capsys)
    assert len(lines) == 1 and "would both be written to" in lines[0]
    assert png.read_bytes() == original


def test_a_second_run_with_out_inside_in_does_not_upscale_its_own_outputs(tmp_path, capsys):
    folder = tmp_path / "in"
    _photo(folder / "a.png")
    _photo(folder / "nested" / "b.png")
    out = folder / "up"
    assert main(["upscale", str(folder), "-o", str(out), *FAST, "--scale", "2"]) == 0
    assert main(["upscale", str(folder), "-o", str(out), *FAST, "--scale", "2"]) == 0
    assert _stderr_lines(capsys)[-1].startswith("srlab upscale: 0 written, 2 skipped")
    pattern = str(folder / "**" / "*.png")  # a glob that also reaches into OUT
    assert main(["upscale", pattern, "-o", str(out), *FAST, "--scale", "2"]) == 0
    assert not (out / "up").exists()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a.png", "nested/b.png"
    ]


def test_outputs_beside_the_inputs_with_a_suffix_are_not_taken_as_inputs(tmp_path, capsys):
    folder = tmp_path / "in"
    _photo(folder / "photo.png")
    args = ["upscale", str(folder), "-o", str(folder), "--suffix", "_x2", "--scale", "2", *FAST]
    assert main(args) == 0
    assert main(args) == 0
    assert _stderr_lines(capsys)[-1].startswith("srlab upscale: 0 written, 1 skipped")
    assert sorted(p.name for p in folder.iterdir()) == ["photo.png", "photo_x2.png"]
    assert Image.open(folder / "photo_x2.png").size == (42, 34)


def test_a_glob_climbing_out_after_a_wildcard_is_refused(tmp_path, capsys):
    _photo(tmp_path / "in" / "sub" / "a.png")
    _photo(tmp_path / "secret" / "b.png")
    out = tmp_path / "in" / "out"
    pattern = str(tmp_path / "in" / "*" / ".." / ".." / "secret" / "*.png")
    assert main(["upscale", pattern, "-o", str(out), *FAST]) == USAGE_ERROR
    assert "'..' after a wildcard" in _stderr_lines(capsys)[0]
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["a.png", "b.png"]


def test_an_output_folder_that_links_outside_out_is_refused(tmp_path, capsys):
    _photo(tmp_path / "in" / "top.png")
    _photo(tmp_path / "in" / "nested" / "c.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "nested").symlink_to(elsewhere, target_is_directory=True)
    assert main(["upscale", str(tmp_path / "in"), "-o", str(out), *FAST]) == 1
    error = next(line for line in _stderr_lines(capsys) if line.startswith("error:"))
    assert "c.png" in error and "leads outside" in error
    assert list(elsewhere.iterdir()) == [] and (out / "top.png").exists()


# --- interruption: stale temp files, SIGKILL, SIGTERM, SIGHUP ------------------------------

_SLOW_WRITER = """
import sys, time
from pathlib import Path
import srlab.io.write as write
encode = write._encode_png_bands

def slow(path, out, height, bands):  # the third image's encoder hangs after writing its temp file
    encode(path, out, height, bands)
    if Path(out.name).name.startswith(".c."):
        time.sleep(120)

write._encode_png_bands = slow
from srlab.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _batch(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    folder = tmp_path / "in"
    for name in "abcd":
        _photo(folder / f"{name}.png", seed=ord(name))
    out = tmp_path / "out"
    return folder, out, ["upscale", str(folder), "-o", str(out), *FAST, "--scale", "2"]


def _start_and_wait_for_temp_file(args: list[str], out: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(p.name.startswith(".c.") for p in _temp_files(out))):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    return child


def test_a_killed_batch_leaves_a_temp_file_that_the_rerun_removes_and_finishes(tmp_path, capsys):
    _folder, out, args = _batch(tmp_path)
    child = _start_and_wait_for_temp_file(args, out)
    child.kill()
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert len(_temp_files(out)) == 1 and sorted(p.name for p in out.glob("[!.]*")) == [
        "a.png", "b.png"
    ]
    assert main(args) == 0
    lines = _stderr_lines(capsys)
    assert any(line.startswith("srlab upscale: removed 1 temporary file") for line in lines)
    assert lines[-1].startswith("srlab upscale: 2 written, 2 skipped, 0 failed")
    assert _temp_files(out) == [] and not list(out.rglob(".*"))
    assert all(Image.open(out / f"{n}.png").size == (42, 34) for n in "abcd")


def test_beside_a_named_output_file_only_its_own_folder_is_cleaned(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "pictures"
    stale = folder / f".big.srlab-{dead.pid}-0123456789ab.tmp.png"
    deeper = folder / "album" / f".old.srlab-{dead.pid}-0123456789ab.tmp.png"
    for path in (stale, deeper):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half an image")
    src = _photo(tmp_path / "photo.png")
    assert main(["upscale", str(src), "-o", str(folder / "big.png"), *FAST]) == 0
    assert not stale.exists() and deeper.exists()  # the folder of -o FILE is not walked
    assert "removed 1 temporary file(s)" in capsys.readouterr().err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_with_a_message_and_no_temp_file(tmp_path, signum, code):
    _folder, out, args = _batch(tmp_path)
    child = _start_and_wait_for_temp_file(args, out)
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code, err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == (
        f"srlab: stopped by {name}; outputs already written are complete"
    )
    assert _temp_files(out) == [] and sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]


# --- options are checked when the command line is parsed --------------------------------------


@pytest.mark.parametrize(
    "bad",
    [["--tile-overlap", "-5"], ["--seed", str(2**70)], ["--seed", "-1"], ["--noise", "inf"],
     ["--noise", "1e30"], ["--noise", "nan"], ["--noise", "-0.5"], ["--tile", "-1"],
     ["--tile", "big"], ["--max-pixels", "0"], ["--scale", "0"], ["--scale", "nan"],
     ["--scale", "1e9"], ["--width", "0"], ["--height", "2.5"], ["--quality", "0"],
     ["--quality", "101"], ["--max-memory", "0"], ["--max-memory", "lots"],
     ["--suffix", "a/b"], ["--suffix", "x\ny"], ["--format", "gif"],
     ["--scale", "2", "--width", "9"], ["--suffix", "_x2"], ["--format", "jpg"]],
)
def test_bad_options_are_one_line_usage_errors_before_any_work(tmp_path, bad, capsys):
    src = _photo(tmp_path / "photo.png")
    out = tmp_path / "big.png"  # a named output file: --suffix and --format jpg do not fit it
    assert main(["upscale", str(src), "-o", str(out), *FAST, *bad]) == USAGE_ERROR
    lines = _stderr_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("srlab: error:"), lines
    assert not out.exists()


# --- file names are printed on one line, control characters escaped -------------------------


def test_skip_and_error_lines_escape_newlines_and_control_characters(tmp_path, capsys):
    folder = tmp_path / "in"
    bad = folder / "evil\nname\x1b[31m.png"
    _photo(folder / "ok\nname.png")
    folder.joinpath(bad.name).write_bytes(b"not an image")
    out = tmp_path / "out"
    (out).mkdir()
    (out / "ok\nname.png").write_bytes(b"the user's own file")
    assert main(["upscale", str(folder), "-o", str(out), *FAST]) == 1
    lines = _stderr_lines(capsys)
    assert len(lines) == 3, lines
    skip, error = sorted(lines[:2], reverse=True)
    assert skip.startswith("skip: ") and "ok\\nname.png exists" in skip
    assert error.startswith("error: ") and "evil\\nname\\x1b[31m.png" in error
    assert "\x1b" not in "".join(lines)


# --- any output size, format, quality and name --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "size"),
    [(["--scale", "2.5"], (53, 43)), (["--scale", "1.5"], (32, 26)), (["--scale", "3"], (63, 51)),
     (["--width", "100"], (100, 81)), (["--height", "50"], (62, 50)),
     (["--width", "40", "--height", "30"], (40, 30))],
)
def test_exact_output_sizes_on_odd_inputs(tmp_path, options, size):
    src = _photo(tmp_path / "photo.png", (21, 17), "RGBA")
    out = tmp_path / "out"
    assert main(["upscale", str(src), "-o", str(out), *FAST, *options]) == 0
    with Image.open(out / "photo.png") as im:
        assert im.size == size and im.mode == "RGBA"


def test_format_quality_and_suffix(tmp_path, capsys):
    folder = tmp_path / "in"
    _photo(folder / "photo.png", (40, 30))
    _photo(folder / "scan.tiff", (40, 30), "L")
    _photo(folder / "shot.jpeg", (40, 30))
    out = tmp_path / "out"
    common = [str(folder), "-o", str(out), *FAST, "--scale", "2"]
    assert main(["upscale", *common, "--format", "jpg", "--quality", "30", "--suffix", "_x2"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["photo_x2.jpg", "scan_x2.jpg", "shot_x2.jpeg"]  # a JPEG keeps its suffix
    with Image.open(out / "photo_x2.jpg") as low:
        assert low.format == "JPEG" and low.size == (80, 60)
    assert main(["upscale", *common, "--format", "jpg", "--quality", "95", "--suffix", "_hq"]) == 0
    assert (out / "photo_hq.jpg").stat().st_size > (out / "photo_x2.jpg").stat().st_size
    assert main(["upscale", *common, "--format", "webp", "--quality", "100"]) == 0
    with Image.open(out / "scan.webp") as im:
        assert im.format == "WEBP" and im.size == (80, 60)
    assert main(["upscale", *common, "--format", "tiff"]) == 0
    assert sorted(p.name for p in out.glob("*.tif*")) == ["photo.tif", "scan.tiff", "shot.tif"]


def test_transparency_to_jpeg_fails_that_image_in_one_line(tmp_path, capsys):
    src = _photo(tmp_path / "clear.png", mode="RGBA")
    code = main(["upscale", str(src), "-o", str(tmp_path / "out"), *FAST, "--format", "jpg"])
    assert code == 1
    error = next(line for line in _stderr_lines(capsys) if line.startswith("error:"))
    assert "cannot store transparency" in error

