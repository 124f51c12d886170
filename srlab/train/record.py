"""A run's training record, read back from its run directory: how far it went, for how long, on
what hardware, its validation history and its loss curves. This is what a shipped model's
documentation cites, so it is derived from the files the trainer wrote, never typed by hand."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from srlab.plotting import pyplot, save_figure
from srlab.train.logbook import LOG_FILE, METRICS_FILE

# A process starting (fresh or resumed) begins a new span of the log; its hardware follows "on"
# (older runs logged only their resumptions, without hardware).
_SEGMENT_START = re.compile(r"^(training from iteration \d+|resumed from \S+ at iteration \d+)")
_HARDWARE = re.compile(r"^training from iteration \d+ on (.+)$")
_ITERATION = re.compile(r"(?:iteration |iter_)(\d+)")
_TIMESTAMP = "%Y-%m-%d %H:%M:%S,%f"


@dataclass
class TrainingRecord:
    name: str
    iterations: int
    wall_seconds: float  # summed over the processes' logged spans, pauses between them excluded
    processes: int
    hardware: list[str]  # distinct, in order of first use; empty when none was recorded
    bicubic: dict[str, float]  # validation baseline, e.g. {"psnr_y": 27.58}
    validation: dict[int, dict[str, float]]  # iteration -> scores
    losses: dict[str, dict[int, float]]  # "train/..." curve name -> iteration -> value


def read_metrics(path: Path) -> dict[str, dict[int, float]]:
    """The long-format metrics CSV as name → iteration → value. A resumed run logs again the
    iterations after its checkpoint; the later value wins, as it belongs to the surviving run."""
    curves: dict[str, dict[int, float]] = defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            curves[row["name"]][int(row["iteration"])] = float(row["value"])
    return dict(curves)


@dataclass
class LogSummary:
    seconds: float  # summed over the processes' spans; the time between processes is not training
    processes: int
    hardware: list[str]
    last_iteration: int  # the furthest iteration the log names (checkpoints, resumes, stops)


def read_log(path: Path) -> LogSummary:
    """What the trainer's log says: each process's span runs from its start line to its last
    line, and every line naming an iteration (or a checkpoint folder) counts for the last one."""
    spans: list[list[datetime]] = []
    hardware: list[str] = []
    last = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stamp, message = line[:23], line[24:]
        try:
            when = datetime.strptime(stamp, _TIMESTAMP)
        except ValueError:
            continue
        if not spans or (_SEGMENT_START.match(message) and len(spans[-1]) > 1):
            spans.append([when])
        else:
            spans[-1].append(when)
        if (found := _HARDWARE.match(message)) and found.group(1) not in hardware:
            hardware.append(found.group(1))
        last = max([last, *map(int, _ITERATION.findall(message))])
    seconds = sum((span[-1] - span[0]).total_seconds() for span in spans)
    return LogSummary(seconds, len(spans), hardware, last)


def read_record(run_dir: Path) -> TrainingRecord:
    """The record of the run in `run_dir` (finished or still running)."""
    metrics_path, log_path = run_dir / METRICS_FILE, run_dir / LOG_FILE
    for path in (metrics_path, log_path):
        if not path.is_file():
            raise ValueError(f"{run_dir} is not a training run: {path.name} is missing")
    curves = read_metrics(metrics_path)
    log = read_log(log_path)
    validation: dict[int, dict[str, float]] = defaultdict(dict)
    bicubic: dict[str, float] = {}
    for name, values in curves.items():
        if name.startswith("val/bicubic_"):
            bicubic[name.removeprefix("val/bicubic_")] = values[0]
        elif name.startswith("val/"):
            for iteration, value in values.items():
                validation[iteration][name.removeprefix("val/")] = value
    losses = {
        name: values for name, values in curves.items()
        if name.startswith("train/") and name != "train/data_wait_share"
    }
    logged = max((it for values in curves.values() for it in values), default=0)
    return TrainingRecord(
        name=run_dir.name, iterations=max(logged, log.last_iteration), wall_seconds=log.seconds,
        processes=log.processes, hardware=log.hardware, bicubic=bicubic,
        validation=dict(sorted(validation.items())), losses=losses,
    )


def format_markdown(record: TrainingRecord) -> str:
    """Summary and validation history as Markdown."""
    hours = record.wall_seconds / 3600
    lines = [
        f"# Training record: {record.name}",
        "",
        f"- iterations: {record.iterations}",
        f"- wall time: {hours:.2f} h logged over {record.processes} process(es) "
        f"({record.wall_seconds / max(record.iterations, 1):.2f} s/iteration on average)",
        f"- hardware: {'; '.join(record.hardware) or 'not recorded by this run'}",
        "",
    ]
    columns = sorted({key for scores in record.validation.values() for key in scores})
    if columns:
        lines += [
            "| iteration | " + " | ".join(columns) + " | gain over bicubic (PSNR-Y) |",
            "|---" * (len(columns) + 2) + "|",
        ]
        base = record.bicubic.get("psnr_y")
        if record.bicubic:
            values = " | ".join(f"{record.bicubic.get(c, float('nan')):.4g}" for c in columns)
            lines.append(f"| bicubic | {values} | |")
        for iteration, scores in record.validation.items():
            values = " | ".join(f"{scores.get(c, float('nan')):.4g}" for c in columns)
            gain = (f"{scores['psnr_y'] - base:+.2f} dB"
                    if base is not None and "psnr_y" in scores else "")
            lines.append(f"| {iteration} | {values} | {gain} |")
    return "\n".join(lines) + "\n"


def write_curves(record: TrainingRecord, path: Path, *, overwrite: bool = False,
                 window: int = 8) -> Path:
    """Loss curves (running mean over `window` logged points, raw values faint behind) and,
    when the run validated, PSNR-Y against bicubic; one PNG."""
    plt = pyplot()
    panels = 2 if record.validation else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.2))
    axes = np.atleast_1d(axes)
    for name, values in sorted(record.losses.items()):
        its, ys = np.array(list(values)), np.array(list(values.values()))
        order = np.argsort(its)
        its, ys = its[order], ys[order]
        smooth = ys
        if ys.size >= window:
            smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
        (line,) = axes[0].plot(its[its.size - smooth.size:], smooth, label=name)
        axes[0].plot(its, ys, color=line.get_color(), alpha=0.2, linewidth=0.8)
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("training loss")
    axes[0].set_yscale("log")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if record.validation:
        its = list(record.validation)
        axes[1].plot(its, [record.validation[i].get("psnr_y", np.nan) for i in its], "o-",
                     label="validation")
        if "psnr_y" in record.bicubic:
            axes[1].axhline(record.bicubic["psnr_y"], color="tab:gray", linestyle="--",
                            label="bicubic")
        axes[1].set_xlabel("iteration")
        axes[1].set_ylabel("PSNR-Y (dB)")
        axes[1].grid(alpha=0.3)
        axes[1].legend()
    fig.suptitle(record.name)
    fig.tight_layout()
    return save_figure(fig, path, overwrite=overwrite, dpi=110)
