"""atomic_write: complete files or nothing, hidden temp files, no clobbering."""

import errno
import os
import stat
from pathlib import Path

import pytest

from srlab.io import ImageError, OutputExistsError, OutputWriteError, atomic_write
from srlab.io.temp_files import writer_pid


def _writer(content: bytes, seen: list[Path] | None = None):
    def write(tmp: Path) -> None:
        if seen is not None:
            seen.append(tmp)
        tmp.write_bytes(content)

    return write


def test_writes_file_via_hidden_temp_with_same_suffix(tmp_path: Path) -> None:
    seen: list[Path] = []
    target = tmp_path / "out.png"
    assert atomic_write(target, _writer(b"data", seen), overwrite=False) == target
    assert target.read_bytes() == b"data"
    (tmp,) = seen
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".")
    assert tmp.suffix == ".png"
    assert writer_pid(tmp) == os.getpid()  # recognisable by remove_stale_temp_files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_creates_missing_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.jpg"
    atomic_write(target, _writer(b"x"), overwrite=False)
    assert target.read_bytes() == b"x"


def test_result_has_umask_permissions_not_private_temp_ones(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = atomic_write(tmp_path / "out.png", _writer(b"x"), overwrite=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_failing_writer_leaves_nothing_behind(tmp_path: Path) -> None:
    def write(tmp: Path) -> None:
        tmp.write_bytes(b"half a photo")
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError, match="encoder crashed"):
        atomic_write(tmp_path / "out.png", write, overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_failing_writer_keeps_existing_file_when_overwriting(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"original")

    def write(tmp: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, write, overwrite=True)
    assert target.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_refuses_existing_file_without_calling_writer(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"original")
    seen: list[Path] = []
    with pytest.raises(OutputExistsError, match=r"out\.png") as info:
        atomic_write(target, _writer(b"new", seen), overwrite=False)
    assert isinstance(info.value, FileExistsError)
    assert seen == []
    assert target.read_bytes() == b"original"


def test_file_appearing_during_write_is_not_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "out.png"

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"ours")
        target.write_bytes(b"theirs")  # another process wins the race

    with pytest.raises(OutputExistsError):
        atomic_write(target, write, overwrite=False)
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_overwrite_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"original")
    atomic_write(target, _writer(b"new"), overwrite=True)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def _no_hard_links(src: object, dst: object) -> None:
    raise PermissionError(errno.EPERM, "Operation not permitted")


def test_without_hard_links_falls_back_to_exclusive_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "link", _no_hard_links)
    target = atomic_write(tmp_path / "out.png", _writer(b"data"), overwrite=False)
    assert target.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_fallback_still_refuses_a_file_that_appeared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "link", _no_hard_links)
    target = tmp_path / "out.png"

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"ours")
        target.write_bytes(b"theirs")

    with pytest.raises(OutputExistsError):
        atomic_write(target, write, overwrite=False)
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_filesystem_failure_is_an_output_write_error_naming_the_target(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"")
    target = blocker / "table.csv"
    with pytest.raises(OutputWriteError) as info:
        atomic_write(target, _writer(b"x"), overwrite=False)
    assert not isinstance(info.value, ImageError)  # a CSV file is not an image
    assert info.value.path == target
    assert str(info.value) == f"cannot write {target}: {blocker} is a file, not a folder"
    assert [p.name for p in tmp_path.iterdir()] == ["not_a_folder"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_is_never_a_target(tmp_path: Path, overwrite: bool) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept.txt").write_text("mine")
    with pytest.raises(OutputWriteError, match="is a folder; name a file"):
        atomic_write(tmp_path / "out", _writer(b"x"), overwrite=overwrite)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["kept.txt"]
