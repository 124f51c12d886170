"""One trainer per run directory: the run folder, and a lock file naming the process that owns it.

The lock file holds the owner's PID and host. A second trainer on the same folder stops with an
error naming the lock and that PID. A lock whose process is gone (a killed machine, SIGKILL) is
stale: the next trainer takes it over with a warning. Reading, creating and removing the lock
happen under an advisory lock (flock) on the folder, so two trainers starting at the same moment
cannot both win.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no folder lock, the checks still run
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "train.lock"
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


class RunDirError(ValueError):
    """The run directory cannot be used: not a folder, not writable, or owned by a live trainer."""


def prepare_run_dir(run_dir: Path) -> None:
    """Create ``run_dir`` (and its parents) or raise RunDirError saying why it cannot be used."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: the run directory is a file, not a folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the run directory ({exc.strerror})") from exc


class RunLock:
    """The lock file of one run directory, taken by :meth:`acquire`, given up by :meth:`release`
    (which does nothing when the lock is not held)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self.held = False
        self._owner = f"{os.getpid()} {socket.gethostname()}"

    def acquire(self) -> str | None:
        """Take the lock; returns a warning when a stale lock was taken over. Raises RunDirError
        when a live process holds it or the folder is not writable."""
        warning = None
        with _folder_lock(self.path.parent):
            text = _read(self.path)
            if text is not None:
                pid, host = _parse(self.path, text)
                if _alive(pid, host):
                    where = "" if host == socket.gethostname() else f" on {host}"
                    raise RunDirError(
                        f"{self.path}: the run directory is in use by PID {pid}{where}; stop that"
                        " trainer, or delete the lock file if it is not running"
                    )
                warning = f"{self.path}: taking over the stale lock of PID {pid} (not running)"
                self.path.unlink()
            self._create()
        self.held = True
        return warning

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with _folder_lock(self.path.parent):
            if _read(self.path) == self._owner:
                self.path.unlink()

    def _create(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            if exc.errno in _NOT_WRITABLE:
                raise RunDirError(
                    f"{self.path.parent}: the run directory is not writable ({exc.strerror})"
                ) from exc
            raise
        with os.fdopen(fd, "w") as f:
            f.write(self._owner)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``folder`` (where the platform has flock)."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None


def _parse(path: Path, text: str) -> tuple[int, str]:
    """(PID, host) written by :meth:`RunLock._create`; anything else is an error."""
    pid, _, host = text.partition(" ")
    if not pid.isdigit() or int(pid) == 0 or not host:
        raise RunDirError(
            f"{path}: unreadable lock file ({text[:40]!r}); delete it if no trainer uses this run"
            " directory"
        )
    return int(pid), host


def _alive(pid: int, host: str) -> bool:
    """Whether process ``pid`` runs; on another host it cannot be checked, so it is assumed to."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
