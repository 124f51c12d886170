"""Temporary files of killed runs: recognisable names, and a cleanup that removes only those."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from srlab.io import atomic_write, remove_stale_temp_files
from srlab.io.temp_files import temp_name, writer_pid

# Writes 1 MiB into atomic_write's temporary file, prints its name, then waits to be killed.
_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from srlab.io import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(bytes(1 << 20))
            f.flush()
            print(tmp, flush=True)
            time.sleep(60)

    atomic_write(Path(sys.argv[1]), write, overwrite=False)
    """
)


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temp_name_is_hidden_names_this_process_and_keeps_the_suffix(tmp_path: Path) -> None:
    name = temp_name(tmp_path / "photo.final.png")
    assert name.parent == tmp_path
    assert name.name.startswith(".photo.final.srlab-")
    assert name.suffix == ".png"
    assert writer_pid(name) == os.getpid()
    assert temp_name(tmp_path / "a.png") != temp_name(tmp_path / "a.png")


def test_long_names_are_shortened_and_still_recognised(tmp_path: Path) -> None:
    name = temp_name(tmp_path / ("x" * 300 + ".tif"))
    assert len(name.name) < 100
    assert writer_pid(name) == os.getpid()


@pytest.mark.parametrize(
    "name",
    ["photo.png", ".photo.png", ".photo.tmp.png", ".a.1a2b3c4d5e6f.tmp.png", ".a.srlab-12.tmp.png",
     ".a.srlab-x-0123456789ab.tmp.png", "a.srlab-12-0123456789ab.tmp.png"],
)  # fmt: skip
def test_other_names_are_not_srlab_temp_files(name: str) -> None:
    assert writer_pid(Path(name)) is None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_temp_file_of_a_killed_writer_is_removed_and_nothing_else(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    writer = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(out / "big.png")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        left = Path(writer.stdout.readline().strip())
    finally:
        writer.send_signal(sig)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert left.parent == out and left.stat().st_size == 1 << 20  # the kill left it behind
    assert not (out / "big.png").exists()

    keep = {
        out / "done.png": b"finished output",
        out / ".hidden.tmp.png": b"someone else's",
        out / f".live.srlab-{os.getpid()}-0123456789ab.tmp.png": b"a running writer's",
        out / "sub" / ".x.srlab-notapid-0123456789ab.tmp.png": b"not ours",
    }
    for path, data in keep.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    stale_elsewhere = out / "sub" / f".y.srlab-{_dead_pid()}-0123456789ab.tmp.jpg"
    stale_elsewhere.write_bytes(b"old")
    link = out / f".z.srlab-{_dead_pid()}-0123456789ab.tmp.png"
    link.symlink_to(out / "done.png")

    removed = remove_stale_temp_files(tmp_path)

    assert sorted(removed) == sorted([left, stale_elsewhere])
    assert not left.exists() and not stale_elsewhere.exists()
    for path, data in keep.items():
        assert path.read_bytes() == data
    assert link.is_symlink()  # links are never followed nor removed
    assert remove_stale_temp_files(tmp_path) == []


def test_a_finished_write_leaves_nothing_to_clean(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.csv", lambda tmp: tmp.write_text("x"), overwrite=False)
    assert remove_stale_temp_files(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_missing_folder_is_nothing_to_clean(tmp_path: Path) -> None:
    assert remove_stale_temp_files(tmp_path / "nowhere") == []
