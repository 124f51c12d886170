"""Crash-safe file creation: a file appears complete at its final name, or not at all.

The data is written to a hidden temporary file in the destination folder, flushed
to disk, then moved into place with one atomic filesystem operation, so a crash,
a full disk or an encoder error never leaves a half-written file behind. Only a killed
process leaves its temporary file, whose name says so (see srlab.io.temp_files).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from srlab.io.errors import OutputExistsError, OutputWriteError
from srlab.io.temp_files import temp_name

T = TypeVar("T")
_EXISTS = "file already exists (choose overwrite to replace it)"


def atomic_write(path: str | Path, write: Callable[[Path], None], *, overwrite: bool) -> Path:
    """Create ``path`` by calling ``write(tmp)`` on a temporary file, then move it into place.

    Works for any kind of file. The temporary file is hidden, lives in the same folder (so
    the final move is atomic), keeps the suffix of ``path`` (so encoders infer the format)
    and is named ``.{stem}.srlab-{pid}-{token}.tmp{suffix}`` (so remove_stale_temp_files can
    delete it if this process is killed). With ``overwrite=False`` an existing file is never
    replaced, even one created while ``write`` runs: OutputExistsError (a FileExistsError) is
    raised instead. Exceptions from ``write`` propagate unchanged; filesystem failures become
    OutputWriteError (an OSError). The temporary file is removed on every failure.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputWriteError(path, "is a folder; name a file")
    if not overwrite and os.path.lexists(path):
        raise OutputExistsError(path, _EXISTS)
    tmp = _create_temp(path)
    try:
        write(tmp)
        _os_call(path, _fsync, tmp)
        if overwrite:
            _os_call(path, os.replace, tmp, path)
        else:
            _move_no_clobber(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _create_temp(path: Path) -> Path:
    """Create an empty hidden temporary file beside ``path``, with normal permissions."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # where a parent is a file, mkdir only says "File exists"
        blocker = next((p for p in path.parents if os.path.lexists(p) and not p.is_dir()), None)
        reason = _describe(exc) if blocker is None else f"{blocker} is a file, not a folder"
        raise OutputWriteError(path, reason) from exc
    tmp = temp_name(path)
    # os.open applies the umask to 0o666, unlike tempfile's private 0o600 files.
    fd = _os_call(path, os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    return tmp


def _move_no_clobber(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` unless that name exists; race-free."""
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise OutputExistsError(path, _EXISTS) from exc
    except OSError:
        _reserve_and_replace(tmp, path)
    else:
        tmp.unlink()


def _reserve_and_replace(tmp: Path, path: Path) -> None:
    """No-clobber move where hard links are unsupported (FAT, some network shares).

    The name is reserved with an exclusive create, then that empty placeholder is
    replaced; only a crash in between can leave the (empty) placeholder behind.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError as exc:
        raise OutputExistsError(path, _EXISTS) from exc
    except OSError as exc:
        raise OutputWriteError(path, _describe(exc)) from exc
    try:
        os.replace(tmp, path)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise OutputWriteError(path, _describe(exc)) from exc


def _fsync(file: Path) -> None:
    """Flush a file's data to the disk before it is renamed into place."""
    fd = os.open(file, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself where the OS allows it.

    Best effort: the file is already complete at its final name, and some systems
    (Windows, some network filesystems) cannot fsync a folder at all.
    """
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _os_call(path: Path, func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run a filesystem call, turning OSError into an OutputWriteError naming ``path``."""
    try:
        return func(*args, **kwargs)
    except OSError as exc:
        raise OutputWriteError(path, _describe(exc)) from exc


def _describe(exc: OSError) -> str:
    """A short reason for an OSError, without repeating the (temporary) file name."""
    return exc.strerror or str(exc) or type(exc).__name__
