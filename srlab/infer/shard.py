"""Split a batch of upscaling jobs into N disjoint shards that any scheduler can run.

A job belongs to shard ``1 + SHA-256(its output path relative to OUT) mod N``. The key is the
POSIX form of that relative path in Unicode NFC, so every machine, Python version and run puts
a file in the same shard, whatever the order the inputs were listed in and wherever OUT is
mounted; the shards are disjoint and together hold every job. Shard numbers are 1-based
(``--shard 1/3`` .. ``--shard 3/3``), like the ``--array=1-N`` of a Slurm array job.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from srlab.infer.batch import Job


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1 <= index <= count)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(
                f"shard {self.index}/{self.count}: need 1 <= I <= N (shards are numbered from 1)"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, environ: Mapping[str, str] = os.environ) -> Shard:
    """``"I/N"`` (1-based), or ``"auto"``: this task's place in a Slurm array job."""
    if text.strip().lower() == "auto":
        return shard_from_slurm(environ)
    index, slash, count = text.partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"shard {text!r}: expected I/N with whole numbers, e.g. 1/4, or auto")
    return Shard(int(index), int(count))


def shard_from_slurm(environ: Mapping[str, str] = os.environ) -> Shard:
    """The shard of this Slurm array task: its id counted from the array's first id.

    The array must be a contiguous range (``--array=0-9`` or ``--array=1-10``, any ``%`` limit),
    so that ids and shards match one to one.
    """
    names = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX")
    values = [environ.get(name, "") for name in names]
    if not all(value.isdigit() for value in values):
        raise ValueError("--shard auto: not a Slurm array task (SLURM_ARRAY_TASK_ID etc. unset)")
    task, first, last = map(int, values)
    count = int(environ.get("SLURM_ARRAY_TASK_COUNT", last - first + 1))
    if environ.get("SLURM_ARRAY_TASK_STEP", "1") != "1" or count != last - first + 1:
        raise ValueError(
            f"--shard auto: Slurm array {first}-{last} is not a contiguous range of {count} "
            f"tasks; use --array={first}-{last} or --shard I/N"
        )
    return Shard(task - first + 1, count)


def shard_key(job: Job, out: Path) -> str:
    """What decides a job's shard: its output path relative to ``out`` (POSIX, NFC)."""
    # A single input written to the file name given by -o is keyed by that name.
    relative = Path(job.target.name) if job.target == out else job.target.relative_to(out)
    return unicodedata.normalize("NFC", relative.as_posix())


def shard_number(key: str, count: int) -> int:
    """The 1-based shard of ``key`` among ``count``; the same on every machine and run."""
    raw = key.encode("utf-8", "surrogateescape")  # undecodable file names keep their bytes
    digest = hashlib.sha256(raw).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(jobs: Sequence[Job], shard: Shard, out: Path) -> list[Job]:
    """The jobs of ``shard``, in their original order."""
    return [job for job in jobs if shard_number(shard_key(job, out), shard.count) == shard.index]
