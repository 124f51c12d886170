"""Benchmark a model on a folder of HR images with the evaluation protocol (`protocol`).

Per image: HR (gray made RGB, alpha dropped, 8-bit values) is cut to a multiple of the scale
(``modcrop``), degraded to LR and quantised to 8 bit, as stored LR test sets are. The model and
MATLAB bicubic (the baseline every model must beat) upscale that same LR, tile by tile as
`srlab upscale` does; both outputs are scored by the protocol with ``scale`` border pixels
cropped. Random degradations draw from `srlab.data.image_generator` (the seed and the image's
index in the sorted list), so a seed reproduces a folder's LR images exactly.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srlab import io, metrics
from srlab.data import Degradation, EvalPair, image_generator, make_degradation, modcrop
from srlab.evaluation.protocol import (
    BASELINE,
    Scoring,
    from_8bit,
    quantise,
    score_image,
    super_resolve,
)
from srlab.infer.options import UpscaleOptions
from srlab.infer.upscaler import Upscaler
from srlab.io import SUPPORTED_SUFFIXES, ImageError, atomic_write, read_image
from srlab.zoo import LoadedModel, load_model

__all__ = [
    "MEAN",
    "EvalError",
    "EvalReport",
    "EvalRow",
    "evaluate",
    "find_images",
    "format_markdown",
    "load_pair",
    "write_csv",
    "write_markdown",
]

MEAN = "mean"  # the image column of mean rows; never an image name (those carry a suffix)

# Column key -> (Markdown title, decimals shown in Markdown). CSV keeps full precision.
_COLUMNS = {
    "psnr_y": ("PSNR-Y (dB)", 2),
    "ssim_y": ("SSIM-Y", 4),
    "psnr_rgb": ("PSNR-RGB (dB)", 2),
    "ssim_rgb": ("SSIM-RGB", 4),
    "niqe": ("NIQE", 3),
    "lpips": ("LPIPS", 4),
}


class EvalError(ValueError):
    """An evaluation that cannot start (no images, bad option, existing output file)."""


@dataclass(frozen=True)
class EvalRow:
    """Scores of one method on one image (or, with image == MEAN, its mean over the images)."""

    image: str
    method: str
    scores: dict[str, float]


@dataclass(frozen=True)
class EvalReport:
    """Everything an evaluation produced; rows are grouped by image, methods in fixed order."""

    model: str
    scale: int
    degradation: str
    seed: int
    methods: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[EvalRow, ...]
    failed: tuple[tuple[Path, str], ...]

    @property
    def crop_border(self) -> int:
        """Pixels dropped from every side for PSNR, SSIM and NIQE: the scale (methods 6.1)."""
        return self.scale

    @property
    def image_count(self) -> int:
        """Images scored (failed ones excluded)."""
        return len(self.rows) // len(self.methods)

    @property
    def means(self) -> tuple[EvalRow, ...]:
        """One MEAN row per method: the plain mean of its per-image scores (none if no image)."""
        out = []
        for method in self.methods:
            rows = [r for r in self.rows if r.method == method]
            if rows:
                mean = {c: float(np.mean([r.scores[c] for r in rows])) for c in self.columns}
                out.append(EvalRow(MEAN, method, mean))
        return tuple(out)


def find_images(folder: str | Path) -> list[Path]:
    """The images of ``folder`` (:func:`srlab.io.find_images`); a missing folder is an EvalError."""
    try:
        return io.find_images(folder)
    except FileNotFoundError as err:
        raise EvalError(str(err)) from None


def evaluate(
    model: str | Path | LoadedModel,
    folder: str | Path,
    scale: int,
    *,
    degradation: str | Degradation = "BI",
    options: UpscaleOptions | None = None,
    niqe: bool = False,
    lpips: metrics.LPIPS | None = None,
    rgb: bool = False,
    max_images: int | None = None,
    report: Callable[[str], None] | None = None,
    progress: Callable[[Sequence[Path]], Iterable[Path]] | None = None,
) -> EvalReport:
    """Score ``model`` and the bicubic baseline on every image of ``folder`` (see module doc).

    ``model`` is a catalogue name, a model file or a LoadedModel at ``scale``; ``options`` say
    how it runs (default `UpscaleOptions()`; the baseline takes only their tile size and
    device), and ``options.seed`` also seeds the random degradations. ``rgb``, ``niqe`` and
    ``lpips`` add scores (see `protocol.Scoring`). An image that cannot be read or scored is
    skipped, passed to ``report`` as one line and listed in ``EvalReport.failed``.
    ``progress`` may wrap the image list (e.g. ``tqdm``). Bad arguments raise before any image
    is processed (EvalError or another ValueError).
    """
    options = options or UpscaleOptions()
    seed = options.seed
    if seed < 0:
        raise EvalError(f"seed must be a non-negative integer, got {seed!r}")
    if max_images is not None and max_images < 1:
        raise EvalError(f"max_images must be at least 1, got {max_images}")
    degrade = make_degradation(degradation, scale) if isinstance(degradation, str) else degradation
    if degrade.scale != scale:
        raise EvalError(f"degradation {degrade!r} shrinks by {degrade.scale}, not {scale}")
    paths = find_images(folder)[:max_images]
    if not paths:
        raise EvalError(f"{folder}: no images ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
    loaded = model if isinstance(model, LoadedModel) else load_model(model, scale=scale)
    if loaded.scale != scale:
        raise EvalError(f"model {loaded.name} is x{loaded.scale}, not x{scale}")
    upscaler = Upscaler(loaded, options)
    # A bicubic model is its own baseline: one row, run with the caller's settings.
    upscalers = {BASELINE: upscaler}
    if loaded.arch != BASELINE:
        baseline_options = UpscaleOptions(tile=options.tile, device=options.device)
        baseline = Upscaler(load_model(BASELINE, scale=scale), baseline_options)
        upscalers = {BASELINE: baseline, loaded.name: upscaler}
    scoring = Scoring(crop_border=scale, rgb=rgb, niqe=niqe, lpips=lpips)

    rows: list[EvalRow] = []
    failed: list[tuple[Path, str]] = []
    root = Path(folder)
    for index, path in enumerate(paths if progress is None else progress(paths)):
        name = path.relative_to(root).as_posix()
        try:
            pair = load_pair(path, name, degrade, image_generator(seed, index))
            image_rows = []
            for method, up in upscalers.items():
                sr = super_resolve(up.upscale_array, pair.lr)
                image_rows.append(EvalRow(name, method, score_image(pair.hr, sr, scoring)))
        except (ImageError, ValueError, RuntimeError, MemoryError) as err:
            message = failure_line(path, err)
            failed.append((path, message))
            if report is not None:
                report(f"error: {message}")
            continue
        rows.extend(image_rows)
    label = degradation if isinstance(degradation, str) else repr(degradation)
    return EvalReport(
        model=loaded.name,
        scale=scale,
        degradation=label,
        seed=seed,
        methods=tuple(upscalers),
        columns=scoring.columns,
        rows=tuple(rows),
        failed=tuple(failed),
    )


def load_pair(path: Path, name: str, degrade: Degradation, generator: torch.Generator) -> EvalPair:
    """HR (8-bit values, modcropped, RGB) and its degraded LR (quantised to 8 bit)."""
    rgb = read_image(path).rgb  # alpha, if any, is left out
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    hr = np.ascontiguousarray(modcrop(quantise(rgb), degrade.scale))
    if hr.size == 0:
        raise ValueError(f"image of {rgb.shape[1]}x{rgb.shape[0]} is smaller than the scale")
    x = torch.from_numpy(hr).permute(2, 0, 1)[None].double() / 255
    lr = quantise(degrade(x, generator)[0].permute(1, 2, 0).numpy())
    return EvalPair(name, from_8bit(lr), from_8bit(hr))


def failure_line(path: Path, err: Exception) -> str:
    """ImageErrors already name their file on one line; other errors get the file added, and
    the kind of error where it is not one of our own ValueErrors about the image."""
    if isinstance(err, ImageError):
        return str(err)
    reason = " ".join(str(err).split()) or "no details"
    kind = "" if type(err) is ValueError else f"{type(err).__name__}: "
    return f"{path}: {kind}{reason}"


def format_markdown(report: EvalReport) -> str:
    """A one-line description, then a Markdown table: image rows, then one mean row per method."""
    header = (
        f"Model {report.model}, x{report.scale}, degradation {report.degradation} "
        f"(seed {report.seed}), crop border {report.crop_border}, {report.image_count} images"
    )
    if "lpips" in report.columns:
        header += "; LPIPS on the full image"
    if report.failed:
        header += f"; {len(report.failed)} failed"
    titles = ["image", "method", *(_COLUMNS[c][0] for c in report.columns)]
    lines = [
        header,
        "",
        "| " + " | ".join(titles) + " |",
        "|---|---|" + "---:|" * len(report.columns),
    ]
    for row in (*report.rows, *report.means):
        image = "**mean**" if row.image == MEAN else row.image.replace("|", "\\|")
        values = [f"{row.scores[c]:.{_COLUMNS[c][1]}f}" for c in report.columns]
        lines.append("| " + " | ".join([image, row.method.replace("|", "\\|"), *values]) + " |")
    return "\n".join(lines) + "\n"


def write_csv(report: EvalReport, path: str | Path, overwrite: bool = False) -> Path:
    """The image and mean rows as CSV, floats at full precision; written atomically."""

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["image", "method", *report.columns])
            for row in (*report.rows, *report.means):
                out.writerow([row.image, row.method, *(row.scores[c] for c in report.columns)])

    return atomic_write(path, write, overwrite=overwrite)


def write_markdown(report: EvalReport, path: str | Path, overwrite: bool = False) -> Path:
    """:func:`format_markdown` written atomically to ``path``."""
    text = format_markdown(report)
    return atomic_write(
        path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=overwrite
    )
