"""Turn command-line inputs (files, folders, globs) into jobs and run them safely.

Every output is written atomically; existing outputs are skipped unless overwriting is asked
for; one failing file is reported and the batch goes on.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path

from srlab.infer.upscaler import Upscaler
from srlab.io import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    FileError,
    ImageError,
    find_images,
    read_image,
    write_image,
)

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


class InputError(ValueError):
    """Command-line inputs that name nothing usable."""


def collect_jobs(inputs: Sequence[str], out: Path) -> list[Job]:
    """Jobs for every input image; folders are walked recursively and their structure is
    kept under `out`. `out` may name a file when there is exactly one input file."""
    found: list[tuple[Path, Path]] = []  # (source, path relative to out)
    for arg in inputs:
        found.extend(_expand(arg))
    if not found:
        raise InputError("no input images found")
    if len(found) == 1 and out.suffix.lower() in SUPPORTED_SUFFIXES and not out.is_dir():
        return [Job(found[0][0], out)]
    jobs, seen = [], {}
    for source, rel in found:
        target = out / rel
        if target in seen and seen[target] != source.resolve():
            raise InputError(f"{source} and {seen[target]} would both be written to {target}")
        if target.resolve() == source.resolve():
            raise InputError(f"{source}: output would replace the input; choose another -o")
        if target not in seen:
            seen[target] = source.resolve()
            jobs.append(Job(source, target))
    return jobs


def _expand(arg: str) -> Iterable[tuple[Path, Path]]:
    path = Path(arg)
    if path.is_dir():
        return _walk(path)
    if path.exists() or not GLOB_CHARS & set(arg):
        if not path.exists():
            raise InputError(f"{arg}: no such file or folder")
        return [(path, Path(path.name))]
    matches = sorted(glob.glob(arg, recursive=True))
    if not matches:
        raise InputError(f"{arg}: pattern matches nothing")
    base = _glob_base(arg)
    pairs: list[tuple[Path, Path]] = []
    for m in map(Path, matches):
        if m.is_dir():
            pairs.extend((src, m.relative_to(base) / rel) for src, rel in _walk(m))
        elif m.suffix.lower() in SUPPORTED_SUFFIXES:
            pairs.append((m, m.relative_to(base)))
    return pairs


def _walk(folder: Path) -> list[tuple[Path, Path]]:
    """The folder's images (see `srlab.io.find_images`), each with its path below the folder."""
    return [(p, p.relative_to(folder)) for p in find_images(folder)]


def _glob_base(pattern: str) -> Path:
    """The longest leading folder of a glob pattern that holds no wildcard."""
    fixed = list(takewhile(lambda part: not GLOB_CHARS & set(part), Path(pattern).parts[:-1]))
    return Path(*fixed) if fixed else Path(".")


def run_batch(
    jobs: Sequence[Job],
    upscaler: Upscaler,
    *,
    overwrite: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    report: Callable[[str], None] = print,
    on_tile: Callable[[], None] | None = None,
    on_start: Callable[[Job], None] | None = None,
    on_done: Callable[[Job], None] | None = None,
) -> BatchReport:
    """Upscale every job; failures are reported with one line each and counted."""
    result = BatchReport()
    for job in jobs:
        if on_start is not None:
            on_start(job)
        _run_job(job, upscaler, result, overwrite, max_pixels, report, on_tile)
        if on_done is not None:
            on_done(job)
    return result


def _run_job(
    job: Job,
    upscaler: Upscaler,
    result: BatchReport,
    overwrite: bool,
    max_pixels: int | None,
    report: Callable[[str], None],
    on_tile: Callable[[], None] | None,
) -> None:
    if job.target.exists() and not overwrite:
        result.skipped.append(job.target)
        report(f"skip: {job.target} exists (use --overwrite to replace it)")
        return
    try:
        image = read_image(job.source, max_pixels=max_pixels)
        upscaled = upscaler.upscale(image, on_tile=on_tile)
        write_image(job.target, upscaled, overwrite=overwrite)
    except (ImageError, FileExistsError, ValueError, RuntimeError, MemoryError) as err:
        message = _one_line(job.source, err)
        result.failed.append((job.source, message))
        report(f"error: {message}")
        return
    result.written.append(job.target)


def _one_line(source: Path, err: Exception) -> str:
    """srlab.io errors already name their file on one line; other errors get the file added."""
    if isinstance(err, FileError):
        return str(err)
    text = " ".join(str(err).split()) or "no details"
    return f"{source}: {type(err).__name__}: {text}"
