"""srlab's temporary files: a recognisable name, and the cleanup of those a killed run left.

atomic_write writes into ``.{stem}.srlab-{pid}-{token}.tmp{suffix}`` beside the final file.
A process killed while writing (SIGKILL, SIGTERM without a handler, power loss) leaves that
file behind; the process id in its name tells later runs whether its writer is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

_STEM_CHARS = 40  # keeps long names within filesystem limits
_NAME = re.compile(r"\..*\.srlab-(?P<pid>[0-9]+)-[0-9a-f]{12}\.tmp(?:\.[^.]*)?", re.DOTALL)


def temp_name(path: Path) -> Path:
    """A fresh hidden temporary file name beside ``path``, with its suffix (for encoders)."""
    stem, token = path.stem[:_STEM_CHARS], secrets.token_hex(6)
    return path.with_name(f".{stem}.srlab-{os.getpid()}-{token}.tmp{path.suffix}")


def writer_pid(path: Path) -> int | None:
    """The id of the process that made srlab temporary file ``path``; None for other names."""
    match = _NAME.fullmatch(path.name)
    return int(match["pid"]) if match else None


def remove_stale_temp_files(folder: str | Path, *, recursive: bool = True) -> list[Path]:
    """Delete the temporary files that killed srlab runs left under ``folder`` (recursively,
    or in ``folder`` itself only when not ``recursive``).

    Only regular files named by atomic_write whose writing process no longer exists are
    removed; anything else (other hidden files, temp files of running writers, symbolic
    links, files of other tools) is left alone. Returns the removed paths. The process check
    is local: do not call this on a folder that srlab on another machine is writing to.
    Folders that cannot be listed and files that cannot be removed are skipped.
    """
    removed = []
    for root, folders, names in os.walk(folder):
        if not recursive:
            folders.clear()
        for name in names:
            path = Path(root) / name
            pid = writer_pid(path)
            if pid is None or _process_exists(pid) or not _is_regular_file(path):
                continue
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed


def _process_exists(pid: int) -> bool:
    """Whether a process with this id may run now (ours, or another user's).

    Where the check is impossible the answer is yes, so the file is kept: on Windows
    ``os.kill(pid, 0)`` would send Ctrl-C instead of probing.
    """
    if pid == os.getpid() or os.name == "nt":
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # another user's process (EPERM), or an id the OS cannot take
    return True


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
