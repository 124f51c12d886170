"""Turn command-line inputs (files, folders, globs) into jobs and run them safely.

Every output is written atomically; existing outputs are skipped unless overwriting is asked
for; one failing file is reported and the batch goes on. Inputs are never written: a job whose
output would be an input (the same path, or a hard or symbolic link to it) refuses the whole
run; outputs of an earlier run inside OUT are never taken as inputs; every output stays
inside OUT.
"""

from __future__ import annotations

import glob
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path
from typing import Literal

from srlab.infer.budget import fit_tile
from srlab.infer.memory import default_memory_limit, written_in_bands
from srlab.infer.sizing import OutputSize, SizedUpscaler
from srlab.infer.upscaler import Upscaler
from srlab.io import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    FileError,
    ImageError,
    find_images,
    output_format_for,
    probe_image,
    read_image,
    write_image,
    write_png_streamed,
)
from srlab.zoo import ModelLoadError

GLOB_CHARS = frozenset("*?[")
DEFAULT_QUALITY = 95
# --format: the suffix each output format gets (an input already in that format keeps its own).
FORMAT_SUFFIXES = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tif"}
_LOSSY_8_BIT = frozenset({"JPEG", "WEBP", "BMP"})


@dataclass(frozen=True)
class Job:
    """One input and its output. `root`: the folder the output must stay inside (None for an
    output file named on the command line)."""

    source: Path
    target: Path
    root: Path | None = None


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


class InputError(ValueError):
    """Command-line inputs that name nothing usable, or outputs that would harm an input."""


@dataclass(frozen=True)
class _Found:
    """An input file: its path below `base` (the folder or glob base it was found in)."""

    source: Path
    relative: Path
    base: Path | None  # None: named on the command line


def collect_jobs(
    inputs: Sequence[str], out: Path, *, suffix: str = "", output_format: str | None = None
) -> list[Job]:
    """Jobs for every input image; folders are walked recursively and their structure is
    kept under `out`. `out` may name a file when there is exactly one input file.

    Outputs are named like their inputs, with `suffix` added to the name (``photo_x4.png``)
    and the suffix of `output_format` ("png", "jpg", "webp", "tiff"; None keeps the input's).
    Raises InputError when nothing is found, when two inputs would write one output, or when
    an output would replace any input.
    """
    found = _without_earlier_outputs([f for arg in inputs for f in _expand(arg)], out, suffix)
    if not found:
        raise InputError("no input images found")
    if len(found) == 1 and out.suffix.lower() in SUPPORTED_SUFFIXES and not out.is_dir():
        _check_named_output(out, suffix, output_format)
        jobs = [Job(found[0].source, out)]
    else:
        jobs = _folder_jobs(found, out, suffix, output_format)
    _refuse_writing_inputs(jobs, [f.source for f in found])
    return jobs


def _check_named_output(out: Path, suffix: str, output_format: str | None) -> None:
    if suffix:
        raise InputError(f"-o {out} names the output file; --suffix is for output folders")
    if output_format and output_format_for(out) != _format_named(output_format):
        raise InputError(f"-o {out} does not end in a {output_format} suffix (--format)")


def _folder_jobs(
    found: Sequence[_Found], out: Path, suffix: str, output_format: str | None
) -> list[Job]:
    jobs: list[Job] = []
    seen: dict[Path, Path] = {}
    for f in found:
        target = out / output_name(f.relative, suffix, output_format)
        if not _lexically_inside(target, out):
            raise InputError(f"{printable(f.source)}: its output would leave {printable(out)}")
        source = f.source.resolve()
        if target in seen and seen[target] != source:
            raise InputError(
                f"{printable(f.source)} and {printable(seen[target])} would both be written to "
                f"{printable(target)}"
            )
        if target not in seen:
            seen[target] = source
            jobs.append(Job(f.source, target, out))
    return jobs


def output_name(relative: Path, suffix: str = "", output_format: str | None = None) -> Path:
    """The output path (below OUT) of an input found at `relative`."""
    ending = relative.suffix
    if output_format is not None and output_format_for(relative) != _format_named(output_format):
        ending = FORMAT_SUFFIXES[output_format]
    return relative.with_name(relative.stem + suffix + ending)


def _format_named(output_format: str) -> str:
    """Pillow's name of a --format choice ("jpg" -> "JPEG")."""
    return output_format_for("x" + FORMAT_SUFFIXES[output_format])


def _expand(arg: str) -> Iterable[_Found]:
    path = Path(arg)
    if path.is_dir():
        return _walk(path, path, Path())
    if path.exists() or not GLOB_CHARS & set(arg):
        if not path.exists():
            raise InputError(f"{printable(arg)}: no such file or folder")
        return [_Found(path, Path(path.name), None)]
    _refuse_climbing(arg)
    matches = sorted(glob.glob(arg, recursive=True))
    if not matches:
        raise InputError(f"{printable(arg)}: pattern matches nothing")
    base = _glob_base(arg)
    found: list[_Found] = []
    for m in map(Path, matches):
        if m.is_dir():
            found.extend(_walk(m, base, m.relative_to(base)))
        elif m.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(_Found(m, m.relative_to(base), base))
    return found


def _walk(folder: Path, base: Path, below: Path) -> list[_Found]:
    """The folder's images (see `srlab.io.find_images`), each with its path below `base`."""
    return [_Found(p, below / p.relative_to(folder), base) for p in find_images(folder)]


def _glob_base(pattern: str) -> Path:
    """The longest leading folder of a glob pattern that holds no wildcard."""
    fixed = list(takewhile(lambda part: not GLOB_CHARS & set(part), Path(pattern).parts[:-1]))
    return Path(*fixed) if fixed else Path(".")


def _refuse_climbing(pattern: str) -> None:
    """A '..' after a wildcard would give matches outside the pattern's base folder, whose
    outputs would land outside OUT."""
    parts = Path(pattern).parts
    wild = next((i for i, part in enumerate(parts) if GLOB_CHARS & set(part)), len(parts))
    if ".." in parts[wild:]:
        raise InputError(
            f"{printable(pattern)}: '..' after a wildcard is not supported (outputs must stay "
            "inside OUT); write the pattern without it"
        )


def _without_earlier_outputs(found: Sequence[_Found], out: Path, suffix: str) -> list[_Found]:
    """Drop files found by walking or globbing that are outputs: everything inside OUT when OUT
    lies inside the walked folder, and, when OUT is that folder itself, files named with the
    output suffix. Files named on the command line are always kept."""
    out_real = out.resolve()
    bases: dict[Path, Path] = {}
    kept = []
    for f in found:
        if f.base is not None:
            base_real = bases.setdefault(f.base, f.base.resolve())
            location = base_real / f.relative
            if out_real == base_real:
                if suffix and location.stem.endswith(suffix):
                    continue
            elif out_real.is_relative_to(base_real) and location.is_relative_to(out_real):
                continue
        kept.append(f)
    return kept


def _lexically_inside(target: Path, folder: Path) -> bool:
    relative = os.path.relpath(os.path.normpath(target), os.path.normpath(folder))
    return relative != ".." and not relative.startswith(".." + os.sep)


def _refuse_writing_inputs(jobs: Sequence[Job], sources: Sequence[Path]) -> None:
    """InputError when an output would be an input: the same path, or a link to its file."""
    by_path = {s.resolve(): s for s in sources}
    by_file = {}
    for s in sources:
        try:
            st = s.stat()
        except OSError:
            continue
        by_file[st.st_dev, st.st_ino] = s
    for job in jobs:
        hit = by_path.get(job.target.resolve())
        if hit is None:
            try:
                st = job.target.stat()
            except OSError:
                continue
            hit = by_file.get((st.st_dev, st.st_ino))
        if hit is not None:
            raise InputError(
                f"{printable(job.source)}: its output {printable(job.target)} would replace the "
                f"input {printable(hit)}; choose another -o (or a --suffix)"
            )


def run_batch(
    jobs: Sequence[Job],
    upscaler: Upscaler | SizedUpscaler,
    *,
    overwrite: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    report: Callable[[str], None] = print,
    on_tile: Callable[[], None] | None = None,
    on_start: Callable[[Job], None] | None = None,
    on_done: Callable[[Job], None] | None = None,
    size: OutputSize | None = None,
    max_memory: int | Literal["auto"] | None = None,
    quality: int = DEFAULT_QUALITY,
) -> BatchReport:
    """Upscale every job; failures are reported with one line each and counted.

    size: the output size (an `Upscaler` is wrapped in a `SizedUpscaler` for it).
    max_memory: bytes of process memory a job may need, checked from the file's header before
        anything large is allocated ("auto": 80 % of the memory available now, plus what the
        process holds; None: no check). An automatic tile shrinks to fit it.
    quality: JPEG and WebP quality (1..100).
    """
    sized = upscaler if isinstance(upscaler, SizedUpscaler) else SizedUpscaler(upscaler, size=size)
    if size is not None and size != sized.size:
        raise ValueError(f"size {size} differs from the upscaler's {sized.size}")
    limit = default_memory_limit() if max_memory == "auto" else max_memory
    run = _JobRunner(sized, overwrite, max_pixels, limit, quality, report, on_tile)
    result = BatchReport()
    for job in jobs:
        if on_start is not None:
            on_start(job)
        run(job, result)
        if on_done is not None:
            on_done(job)
    return result


@dataclass
class _JobRunner:
    upscaler: SizedUpscaler
    overwrite: bool
    max_pixels: int | None
    max_memory: int | None
    quality: int
    report: Callable[[str], None]
    on_tile: Callable[[], None] | None

    def __call__(self, job: Job, result: BatchReport) -> None:
        if job.target.exists() and not self.overwrite:
            result.skipped.append(job.target)
            self.report(f"skip: {printable(job.target)} exists (use --overwrite to replace it)")
            return
        try:
            notes = self._upscale(job)
        except (ImageError, FileExistsError, ValueError, RuntimeError, MemoryError,
                ModelLoadError) as err:
            message = _one_line(job.source, err)
            result.failed.append((job.source, message))
            self.report(f"error: {message}")
            return
        result.written.append(job.target)
        for note in notes:
            self.report(f"note: {printable(str(job.source))}: {note}")

    def _upscale(self, job: Job) -> list[str]:
        """Upscale and write one job; returns what the user should know about it.

        A PNG at the model's own scale is written in bands of rows as they are finished
        (`Upscaler.stream`), so it never holds the whole output; other outputs are made whole,
        then written."""
        _check_inside(job)
        notes: list[str] = []
        info = probe_image(job.source)
        upscaler, width, height = self.upscaler.plan(info.width, info.height)
        output = _output_kind(job.target, info.bit_depth)
        native = (info.width * upscaler.scale, info.height * upscaler.scale)
        tile = None
        over_limit = self.max_pixels is not None and info.pixels > self.max_pixels
        if self.max_memory is not None and info.frames == 1 and not over_limit:
            tile = fit_tile(job.source, info, upscaler, (width, height), output, self.max_memory)
            if tile != upscaler.tile:
                notes.append(f"tile {tile} instead of {upscaler.tile} to fit --max-memory")
        retries: list[tuple[int, int]] = []

        def on_retry(old: int, new: int) -> None:
            retries.append((old, new))

        if written_in_bands(output[0], (width, height), native):
            upscaler.stream(
                read_image(job.source, max_pixels=self.max_pixels),
                lambda bands: write_png_streamed(
                    job.target, height, bands, overwrite=self.overwrite
                ),
                self.on_tile,
                tile=tile,
                on_retry=on_retry,
            )
        else:
            upscaled = self.upscaler.upscale(
                read_image(job.source, max_pixels=self.max_pixels),  # held only while upscaling
                self.on_tile,
                tile=tile,
                on_retry=on_retry,
            )
            write_image(job.target, upscaled, overwrite=self.overwrite, quality=self.quality)
        if retries:
            first, last = retries[0][0] or "whole-image", retries[-1][1]
            notes.append(f"ran out of memory with tile {first}; finished with tile {last}")
        return notes


def _output_kind(target: Path, bit_depth: int) -> tuple[str, int]:
    """(format, bit depth) the output will be written in."""
    fmt = output_format_for(target)
    return fmt, 8 if fmt in _LOSSY_8_BIT else bit_depth


def _check_inside(job: Job) -> None:
    """Refuse an output whose folder leads outside OUT (a symbolic link inside OUT)."""
    if job.root is None:
        return
    parent = job.target.parent
    while not parent.exists():
        if parent in (job.root, parent.parent):
            return  # the folders below OUT do not exist yet: they will be made as real folders
        parent = parent.parent
    if not parent.resolve().is_relative_to(job.root.resolve()):
        raise ValueError(f"output folder {parent} leads outside {job.root} (a symbolic link)")


def _one_line(source: Path, err: Exception) -> str:
    """srlab.io errors already name their file on one line; other errors get the file added."""
    if isinstance(err, FileError):
        return printable(str(err))
    text = " ".join(str(err).split()) or "no details"
    return printable(f"{source}: {type(err).__name__}: {text}")


def printable(text: str | Path) -> str:
    """`text` on one line, safe for a terminal: control characters (newlines, escapes) and
    undecodable bytes of file names are written as escapes (\\n, \\x1b, \\udcff)."""
    return "".join(_escape(char) for char in str(text))


def _escape(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cs") or char in "\u2028\u2029":
        return char.encode("unicode_escape", "backslashreplace").decode("ascii")
    return char
