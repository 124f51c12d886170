"""`srlab sampler-stats CONFIG`: what Random Filter Sampling does to a config's training patches.

Plans the same number of batches with the uniform planner and with RFS (the config's `rfs`
settings, whatever its `sampler`), scores every LR patch's information content (PIC) and reports
the share of each RFS interval and of the patches above uniform sampling's 90th PIC percentile,
with a figure of both PIC histograms.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srlab.config import load_config
from srlab.data import PairSource, PatchPlanner, RFSPlanner, UniformPlanner, pic
from srlab.data.sampling import interval_masses
from srlab.plotting import pyplot, save_figure
from srlab.train.data import build_training_set, check_data_folders
from srlab.train.schema import ExperimentConfig

TOP_PERCENTILE = 90  # "rare detailed patches": above uniform sampling's 90th PIC percentile


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "sampler-stats",
        help="compare Random Filter Sampling with uniform sampling on a config's training data",
        description=(
            "Plan N batches of the config's training data with uniform sampling and with "
            "Random Filter Sampling (its data.train.rfs settings, whatever data.train.sampler "
            "says), print each PIC interval's share of patches and the over-sampling of patches "
            f"above uniform sampling's {TOP_PERCENTILE}th PIC percentile, and draw both PIC "
            "histograms into a PNG."
        ),
    )
    p.add_argument("config", type=Path, help="YAML training config")
    p.add_argument("-o", "--output", type=Path, default=Path("sampler-stats.png"),
                   metavar="OUT.png", help="figure file (default: %(default)s)")
    p.add_argument("--batches", type=_positive, default=200, metavar="N",
                   help="batches per sampler (default: %(default)s)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value by dotted path, e.g. data.train.rfs.tilt=3")
    p.add_argument("--overwrite", action="store_true", help="replace an existing figure")
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class SamplerStats:
    """PIC of every planned patch under both samplers, and the RFS planner that drew them."""

    uniform: np.ndarray
    rfs: np.ndarray
    planner: RFSPlanner
    tilt: float
    batch_size: int

    @property
    def top(self) -> float:
        """Uniform sampling's TOP_PERCENTILE-th PIC percentile."""
        return float(np.percentile(self.uniform, TOP_PERCENTILE))

    def shares(self, values: np.ndarray) -> np.ndarray:
        """Share of ``values`` in each RFS interval."""
        k = len(self.planner.edges) - 1
        return np.bincount(self.planner.interval(values), minlength=k) / len(values)

    def quota_batches(self) -> int:
        """Batches whose interval counts equal the quotas (the others needed the guard)."""
        quotas = self.planner.quotas(self.batch_size)
        k = len(quotas)
        batches = self.planner.interval(self.rfs).reshape(-1, self.batch_size)
        return sum(np.array_equal(np.bincount(b, minlength=k), quotas) for b in batches)


def _pics(planner: PatchPlanner, source: PairSource, batches: int, size: int) -> np.ndarray:
    return np.concatenate(
        [pic(source.lr_batch(planner.plan(b, size, source))) for b in range(batches)]
    )


def collect(cfg: ExperimentConfig, batches: int) -> SamplerStats:
    """Decode the training data, calibrate RFS as training would and plan ``batches`` of each."""
    check_data_folders(cfg)
    data = build_training_set(cfg)
    planner = data.planner
    assert isinstance(planner, RFSPlanner)  # run() sets data.train.sampler to rfs
    d = cfg.data.train
    uniform = UniformPlanner(cfg.seed, d.patch_size, planner.transforms)
    return SamplerStats(
        uniform=_pics(uniform, data.source, batches, d.batch_size),
        rfs=_pics(planner, data.source, batches, d.batch_size),
        planner=planner,
        tilt=d.rfs.tilt,
        batch_size=d.batch_size,
    )


def report(stats: SamplerStats) -> str:
    """The per-interval table and the over-sampling factors, as printed."""
    planner = stats.planner
    k = len(planner.edges) - 1
    masses = interval_masses(k, stats.tilt)
    quotas = planner.quotas(stats.batch_size) / stats.batch_size
    uniform, rfs = stats.shares(stats.uniform), stats.shares(stats.rfs)
    lines = [
        f"{len(stats.rfs)} LR patches per sampler, {len(stats.rfs) // stats.batch_size} batches "
        f"of {stats.batch_size}; RFS: {k} intervals, tilt {stats.tilt:g}",
        "(planned: the uniform share the interval edges were calibrated for)",
        "interval  PIC from    to          planned  uniform  RFS     quota   RFS/uniform",
    ]
    for i in range(k):
        lines.append(
            f"{i + 1:<9} {planner.edges[i]:<11.4g} {planner.edges[i + 1]:<11.4g} "
            f"{masses[i]:>6.1%}  {uniform[i]:>6.1%}  {rfs[i]:>6.1%}  {quotas[i]:>6.1%}  "
            f"{_ratio(rfs[i], uniform[i])}"
        )
    top = stats.top
    above_u, above_r = np.mean(stats.uniform > top), np.mean(stats.rfs > top)
    median = float(np.median(stats.uniform))
    below_u, below_r = np.mean(stats.uniform <= median), np.mean(stats.rfs <= median)
    lines += [
        f"patches above the uniform {TOP_PERCENTILE}th PIC percentile ({top:.4g}): "
        f"uniform {above_u:.1%}, RFS {above_r:.1%} ({_ratio(above_r, above_u)})",
        f"patches at or below the uniform median PIC ({median:.4g}): "
        f"uniform {below_u:.1%}, RFS {below_r:.1%} ({_ratio(below_r, below_u)})",
        f"RFS batches that met every quota: {stats.quota_batches()} of "
        f"{len(stats.rfs) // stats.batch_size} (the others were completed by the guard)",
    ]
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def draw(stats: SamplerStats, title: str, path: Path, *, overwrite: bool) -> Path:
    """Both PIC histograms (log axis) with the interval edges, and the per-interval shares."""
    plt = pyplot()
    fig, (hist, bars) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=(3, 2))
    logs_u, logs_r = np.log10(1 + stats.uniform), np.log10(1 + stats.rfs)
    bins = np.linspace(min(logs_u.min(), logs_r.min()), max(logs_u.max(), logs_r.max()), 50)
    hist.hist(logs_u, bins=bins, density=True, histtype="step", lw=1.8, label="uniform")
    hist.hist(logs_r, bins=bins, density=True, histtype="step", lw=1.8, label="RFS")
    for edge in stats.planner.edges[1:-1]:
        hist.axvline(np.log10(1 + edge), color="grey", ls="--", lw=0.8)
    hist.axvline(np.log10(1 + stats.top), color="black", ls=":", lw=1.2,
                 label=f"uniform {TOP_PERCENTILE}th percentile")
    hist.set_xlabel("log10(1 + PIC) of the LR patch (dashed: RFS interval edges)")
    hist.set_ylabel("density")
    hist.legend(loc="upper left")
    k = len(stats.planner.edges) - 1
    x = np.arange(1, k + 1)
    bars.bar(x - 0.2, stats.shares(stats.uniform), width=0.4, label="uniform")
    bars.bar(x + 0.2, stats.shares(stats.rfs), width=0.4, label="RFS")
    bars.set_xticks(x)
    bars.set_xlabel("PIC interval (flat → detailed)")
    bars.set_ylabel("share of patches")
    bars.legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, overwrite=overwrite)


def run(args: argparse.Namespace) -> int:
    if not args.config.is_file():
        raise ValueError(f"{args.config}: no such config file")
    cfg = load_config(ExperimentConfig, args.config, [*args.overrides, "data.train.sampler=rfs"])
    if not args.overwrite and args.output.exists():
        raise FileExistsError(f"{args.output} already exists (use --overwrite)")
    stats = collect(cfg, args.batches)
    print(report(stats))
    d = cfg.data.train
    lr = "paired LR" if d.lr_folder is not None else d.degradation
    title = f"{cfg.name}: {d.patch_size} px LR patches (x{cfg.scale} {lr}), {len(stats.rfs)} each"
    draw(stats, title, args.output, overwrite=args.overwrite)
    print(f"srlab sampler-stats: wrote {args.output}", file=sys.stderr)
    return 0
