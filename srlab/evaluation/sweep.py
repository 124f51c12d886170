"""Walk a noise-driven model along its perception–distortion curve: score it at many noise
amplitudes W on a folder of HR images, tabulate, and plot the curve.

LR images are made as `srlab eval` makes them (`benchmark.load_pair`) and outputs are scored
by the evaluation protocol (`protocol`: 8-bit SR, PSNR-Y and SSIM-Y with a border of `scale`
pixels, NIQE on the same crop, LPIPS on the full image). The LR images are made once; every W
runs on the same ones, with the model's noise seeded per image, so the curve shows the effect
of W alone.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from srlab import metrics
from srlab.data import image_generator, make_degradation
from srlab.evaluation.benchmark import EvalError, failure_line, find_images, load_pair
from srlab.evaluation.protocol import BASELINE, Scoring, score_pairs
from srlab.infer.options import UpscaleOptions
from srlab.infer.upscaler import Upscaler
from srlab.io import ImageError, atomic_write
from srlab.plotting import pyplot, save_figure
from srlab.zoo import LoadedModel, load_model

_TITLES = {"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y", "niqe": "NIQE", "lpips": "LPIPS"}
_DECIMALS = {"psnr_y": 3, "ssim_y": 4, "niqe": 3, "lpips": 4}


@dataclass(frozen=True)
class SweepReport:
    """Mean scores per noise amplitude, and bicubic's for reference."""

    model: str
    scale: int
    degradation: str
    image_count: int
    columns: tuple[str, ...]
    noises: tuple[float, ...]
    means: tuple[dict[str, float], ...]  # one per noise amplitude, in `noises` order
    baseline: dict[str, float]
    failed: tuple[tuple[Path, str], ...] = ()  # images left out: (path, one-line reason)


def parse_noises(text: str) -> list[float]:
    """"0,0.25,1" as listed; "a,b,...,c" as the progression a, b, ... up to c (step b − a)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if "..." in parts:
            if len(parts) != 4 or parts[2] != "...":
                raise EvalError(f"a progression is written 'start,next,...,stop', got {text!r}")
            start, step, stop = float(parts[0]), float(parts[1]) - float(parts[0]), float(parts[3])
            if step <= 0 or stop < start:
                raise EvalError(f"progression {text!r} must increase")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(p) for p in parts]
    except ValueError as err:
        raise EvalError(f"noise list {text!r}: {err}") from err
    if not values or min(values) < 0:
        raise EvalError(f"noise amplitudes must be >= 0, got {text!r}")
    return sorted(set(values))


def sweep(
    model: str | Path | LoadedModel,
    folder: str | Path,
    scale: int,
    noises: Sequence[float],
    *,
    degradation: str = "BI",
    options: UpscaleOptions | None = None,
    niqe: bool = True,
    lpips: metrics.LPIPS | None = None,
    max_images: int | None = None,
    progress: Callable[[Iterable[float]], Iterable[float]] | None = None,
    report: Callable[[str], None] | None = None,
) -> SweepReport:
    """Score `model` at every amplitude in `noises` (and bicubic once) on `folder`.

    `options` say how the model runs (default `UpscaleOptions()`, the baseline takes only their
    tile size and device); the sweep sets their noise amplitude itself, and their seed seeds
    both the degradations and the noise maps. An image that cannot be read or degraded is
    left out, named in the report's `failed` and told to `report` in one line.
    """
    options = options or UpscaleOptions()
    if options.noise is not None:
        raise EvalError("a sweep sets the noise amplitude itself; leave options.noise unset")
    loaded = model if isinstance(model, LoadedModel) else load_model(model, scale=scale)
    if not loaded.spec.takes_noise:
        raise EvalError(f"model {loaded.name} has no noise input to sweep")
    if not noises:
        raise EvalError("no noise amplitudes given")
    degrade = make_degradation(degradation, scale)
    paths = find_images(folder)[:max_images]
    if not paths:
        raise EvalError(f"{folder}: no images")
    root = Path(folder)
    pairs, failed = [], []
    for i, path in enumerate(paths):
        try:
            name = path.relative_to(root).as_posix()
            pairs.append(load_pair(path, name, degrade, image_generator(options.seed, i)))
        except (ImageError, ValueError, MemoryError) as err:
            failed.append((path, failure_line(path, err)))
            if report is not None:
                report(f"error: {failed[-1][1]}")
    if not pairs:
        raise EvalError(f"{folder}: none of its {len(paths)} images could be read")
    scoring = Scoring(crop_border=scale, niqe=niqe, lpips=lpips)

    def mean_scores(upscaler: Upscaler) -> dict[str, float]:
        return score_pairs(pairs, upscaler.upscale_array, scoring)[0].means

    baseline_options = UpscaleOptions(tile=options.tile, device=options.device)
    baseline = mean_scores(Upscaler(load_model(BASELINE, scale=scale), baseline_options))
    means = []
    for w in noises if progress is None else progress(noises):
        means.append(mean_scores(Upscaler(loaded, replace(options, noise=float(w)))))
    return SweepReport(
        model=loaded.name,
        scale=scale,
        degradation=degradation,
        image_count=len(pairs),
        columns=scoring.columns,
        noises=tuple(float(w) for w in noises),
        means=tuple(means),
        baseline=baseline,
        failed=tuple(failed),
    )


def format_markdown(report: SweepReport) -> str:
    header = (
        f"Model {report.model}, x{report.scale}, degradation {report.degradation}, "
        f"mean over {report.image_count} images, crop border {report.scale}"
        + (f"; {len(report.failed)} failed" if report.failed else "")
    )
    titles = ["W", *(_TITLES[c] for c in report.columns)]
    lines = [header, "", "| " + " | ".join(titles) + " |", "|" + "---:|" * len(titles)]
    rows = [(f"{w:g}", m) for w, m in zip(report.noises, report.means, strict=True)]
    rows.append(("bicubic", report.baseline))
    for label, means in rows:
        values = [f"{means[c]:.{_DECIMALS[c]}f}" for c in report.columns]
        lines.append("| " + " | ".join([label, *values]) + " |")
    return "\n".join(lines) + "\n"


def write_csv(report: SweepReport, path: Path, overwrite: bool = False) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["W", *report.columns])
            for w, means in zip(report.noises, report.means, strict=True):
                out.writerow([w, *(means[c] for c in report.columns)])
            out.writerow([BASELINE, *(report.baseline[c] for c in report.columns)])

    return atomic_write(path, write, overwrite=overwrite)


def write_plot(report: SweepReport, path: Path, overwrite: bool = False) -> Path:
    """The perception–distortion plane: PSNR-Y across, each perceptual score up (lower is
    better for NIQE and LPIPS), points labelled with W; bicubic marked for reference."""
    plt = pyplot()
    perceptual = [c for c in ("niqe", "lpips") if c in report.columns] or ["ssim_y"]
    fig, axes = plt.subplots(1, len(perceptual), figsize=(5.5 * len(perceptual), 4.5))
    axes = np.atleast_1d(axes)
    psnr = [m["psnr_y"] for m in report.means]
    for ax, column in zip(axes, perceptual, strict=True):
        values = [m[column] for m in report.means]
        ax.plot(psnr, values, "o-", color="tab:blue", label=report.model)
        for w, x, y in zip(report.noises, psnr, values, strict=True):
            ax.annotate(f"{w:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.plot(report.baseline["psnr_y"], report.baseline[column], "s", color="tab:gray",
                label="bicubic")
        ax.set_xlabel("PSNR-Y (dB), distortion: higher is better")
        ax.set_ylabel(f"{_TITLES[column]}" + (", lower is better" if column != "ssim_y" else ""))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{report.model} x{report.scale}: noise amplitude W ({report.image_count} images)")
    fig.tight_layout()
    return save_figure(fig, path, overwrite=overwrite)
