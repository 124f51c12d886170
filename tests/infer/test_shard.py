"""`srlab upscale --shard I/N`: a partition of the inputs that every machine and run agrees on,
whose shards together write exactly what one run writes."""

import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.cli.main import USAGE_ERROR, main
from srlab.infer.batch import Job, collect_jobs
from srlab.infer.shard import Shard, parse_shard, select_shard, shard_key, shard_number

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "a.png", "b.jpg", "nested/c.png", "nested/deeper/d.tif", "Été/ünïcode.png",
    "space name.png", "z16.png", "rgba.png", *[f"many/{i:02d}.png" for i in range(16)],
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Small images of several kinds (8/16-bit, RGBA, JPEG, TIFF), nested, one corrupt."""
    src = tmp_path / "in"
    rng = np.random.default_rng(1)
    for name in NAMES:
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rgb = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
        if name == "z16.png":
            Image.fromarray((rng.random((12, 16)) * 65535).astype(np.uint16)).save(path)
        elif name == "rgba.png":
            Image.fromarray(np.dstack([rgb, rgb[..., :1]]), "RGBA").save(path)
        else:
            Image.fromarray(rgb).save(path)
    good = (src / "a.png").read_bytes()
    (src / "corrupt.png").write_bytes(good[: len(good) // 2])
    return src


def files(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path, hidden ones included (temporary files would
    show)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7])
def test_shards_are_disjoint_and_complete(folder: Path, tmp_path: Path, count: int):
    jobs = collect_jobs([str(folder)], tmp_path / "out")
    shards = [select_shard(jobs, Shard(i, count), tmp_path / "out") for i in range(1, count + 1)]
    seen = [job for shard in shards for job in shard]
    assert len(seen) == len(set(seen)) == len(jobs) == len(NAMES) + 1
    assert set(seen) == set(jobs)
    if count > 1:
        assert sum(1 for shard in shards if shard) > 1  # the hash spreads, not all in one


def test_shard_depends_on_the_output_path_only(folder: Path, tmp_path: Path, monkeypatch):
    """The same file lands in the same shard whether the folder is named relatively,
    absolutely, through a glob, or written to another OUT; input order does not matter."""
    monkeypatch.chdir(folder.parent)

    def keys(inputs: list[str], out: Path) -> dict[str, str]:
        return {job.source.name: shard_key(job, out) for job in collect_jobs(inputs, out)}

    relative = keys(["in"], Path("out"))
    assert relative == keys([str(folder)], tmp_path / "elsewhere" / "out")
    assert relative == keys(["in/*"], Path("out"))
    assert relative["ünïcode.png"] == "Été/ünïcode.png"
    assert relative["d.tif"] == "nested/deeper/d.tif"
    jobs = collect_jobs(["in"], Path("out"))
    assert select_shard(jobs[::-1], Shard(2, 3), Path("out")) == select_shard(
        jobs, Shard(2, 3), Path("out")
    )[::-1]


def test_shard_numbers_are_pinned_and_ignore_python_hash_seeds():
    """A SHA-256 of the path: the partition is part of the on-disk contract (a job array
    half done by one srlab version is finished by another), so it is pinned here, and
    Python's randomised hash() plays no part."""
    keys = ["a.png", "nested/c.png", "Été/ünïcode.png", "many/07.png"]
    assert [shard_number(key, 7) for key in keys] == [2, 4, 2, 3]
    assert [shard_number(key, 2) for key in keys] == [1, 1, 1, 2]
    code = (
        "from srlab.infer.shard import shard_number;"
        f"print([shard_number(k, 7) for k in {keys!r}])"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert out.strip() == "[2, 4, 2, 3]"


def test_single_file_output_is_keyed_by_its_name(tmp_path: Path):
    target = tmp_path / "big.png"
    assert shard_key(Job(tmp_path / "x.png", target), target) == "big.png"


def test_parse_shard():
    assert parse_shard("2/5") == Shard(2, 5)
    assert parse_shard(" 1 / 1 ") == Shard(1, 1)
    for bad, reason in [("0/3", "1 <= I <= N"), ("4/3", "1 <= I <= N"), ("1/0", "1 <= I"),
                        ("3", "expected I/N"), ("a/b", "expected I/N"), ("-1/3", "expected")]:
        with pytest.raises(ValueError, match=reason):
            parse_shard(bad, environ={})


def slurm(task: int, first: int, last: int, **more: str) -> dict[str, str]:
    return {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": str(first),
            "SLURM_ARRAY_TASK_MAX": str(last),
            "SLURM_ARRAY_TASK_COUNT": str(last - first + 1), **more}


def test_shard_auto_reads_a_slurm_array_from_either_base():
    assert parse_shard("auto", slurm(0, 0, 9)) == Shard(1, 10)
    assert parse_shard("auto", slurm(9, 0, 9)) == Shard(10, 10)
    assert parse_shard("auto", slurm(1, 1, 4)) == Shard(1, 4)
    assert parse_shard("AUTO", slurm(4, 1, 4)) == Shard(4, 4)
    with pytest.raises(ValueError, match="not a Slurm array task"):
        parse_shard("auto", {})
    with pytest.raises(ValueError, match="not a contiguous range"):
        parse_shard("auto", slurm(2, 0, 8, SLURM_ARRAY_TASK_STEP="2", SLURM_ARRAY_TASK_COUNT="5"))
    with pytest.raises(ValueError, match="not a contiguous range"):
        parse_shard("auto", slurm(3, 1, 7, SLURM_ARRAY_TASK_COUNT="3"))  # --array=1,3,7


@pytest.mark.parametrize(
    ("shard", "reason"),
    [("0/3", "1 <= I <= N"), ("4/3", "1 <= I <= N"), ("x", "expected I/N"),
     ("auto", "not a Slurm array task")],
)
def test_bad_shards_are_usage_errors_in_one_line(
    folder, tmp_path, capsys, monkeypatch, shard, reason
):
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    try:
        code = main(["upscale", str(folder), "-o", str(tmp_path / "out"), "--shard", shard])
    except SystemExit as stop:  # argparse's way out
        code = stop.code
    assert code == USAGE_ERROR
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --shard: " in last and reason in last
    assert not (tmp_path / "out").exists()


def test_three_shards_one_after_another_write_what_one_run_writes(folder, tmp_path, capsys):
    whole = tmp_path / "whole"
    assert main(["upscale", str(folder), "-o", str(whole), "--model", "bicubic",
                 "--scale", "2", "--quiet"]) == 1  # the corrupt file
    sharded = tmp_path / "sharded"
    codes = []
    for i in (1, 2, 3):
        codes.append(main(["upscale", str(folder), "-o", str(sharded), "--model", "bicubic",
                           "--scale", "2", "--quiet", "--shard", f"{i}/3"]))
    summaries = [line for line in capsys.readouterr().err.splitlines()
                 if line.startswith("srlab upscale:")][1:]
    assert sorted(codes) == [0, 0, 1]  # the corrupt file belongs to exactly one shard
    assert all(" 0 skipped" in line for line in summaries)  # no shard touched another's files
    assert files(sharded) == files(whole)
    assert len(files(whole)) == len(NAMES)


def test_a_killed_shard_reruns_only_what_is_missing(tmp_path: Path):
    """SIGKILL one shard's process mid-run (as a scheduler preempting a task would), run it
    again: it skips what was finished, writes the rest, and the result equals an unbroken
    run."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(2)
    for i in range(24):
        base = rng.random((40, 50, 3))
        image = np.kron(base, np.ones((8, 8, 1)))[:300, :400] * 255
        Image.fromarray(image.astype(np.uint8)).save(src / f"p{i:02d}.png")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "srlab.cli.main", "upscale", str(src), "-o", str(out),
               "--model", "bicubic", "--scale", "3", "--quiet", "--shard", "1/2"]
    mine = select_shard(collect_jobs([str(src)], out), Shard(1, 2), out)
    assert len(mine) > 4
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("p*.png")):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(p.name for p in out.glob("p*.png"))
    assert 1 <= len(finished) < len(mine), "the run was not cut short; make its images larger"

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    skipped = len(finished)
    assert f"{len(mine) - skipped} written, {skipped} skipped, 0 failed" in rerun.stderr
    whole = tmp_path / "whole"
    subprocess.run([*command[:6], str(whole), *command[7:]], cwd=ROOT, check=True,
                   capture_output=True)
    visible = {name: data for name, data in files(out).items() if not name.startswith(".")}
    assert visible == files(whole)


def test_keys_are_unicode_nfc_so_macos_and_linux_names_agree():
    """macOS file systems hand out decomposed (NFD) names, Linux keeps what was written."""
    composed = "Été/ünïcode.png"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    out = Path("out")
    assert shard_key(Job(Path("x.png"), out / decomposed), out) == composed


def test_a_shard_leaves_temporary_files_alone(folder: Path, tmp_path: Path, capsys):
    """Another machine may be writing that file: its process id means nothing here. A plain
    run (all writers on this machine) removes it."""
    out = tmp_path / "out"
    out.mkdir()
    pid = 2**22 + 12345  # above Linux's largest process id: no such process
    litter = out / f".a.srlab-{pid}-0123456789ab.tmp.png"
    litter.write_bytes(b"half a file")
    args = [str(folder / "a.png"), str(folder / "b.jpg"), "-o", str(out), "--model", "bicubic",
            "--quiet"]
    assert main(["upscale", *args, "--shard", "1/2"]) == 0
    assert main(["upscale", *args, "--shard", "2/2"]) == 0
    assert litter.exists()
    assert main(["upscale", *args]) == 0
    assert not litter.exists()
    assert "0 written, 2 skipped" in capsys.readouterr().err
