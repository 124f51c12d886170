"""BSR's two training claims, ablated at reduced size on the CPU: Random Filter Sampling on/off
and the loss (L2, L2 + L1, L2 + L1 + Lp), each variant over several seeds, every final model
scored on the dev photos by the evaluation protocol that `srlab eval` and validation share
(`srlab.evaluation.protocol`: whole images, 8-bit output, PSNR-Y/SSIM-Y without `scale` border
pixels).

    .venv/bin/python bench/bsr_ablation.py                    # 4 variants x 3 seeds, ~30 min
    .venv/bin/python bench/bsr_ablation.py --seeds 0 1 2 3 4  # more seeds: only new runs train

Each run trains with srlab's Trainer in its own folder, WORK/VARIANT/seedN, from the base config
below plus the variant's overrides (the same dotted overrides as `srlab train --set`) and
`seed=N`, which seeds both the initial weights and the patch draws. The runner is resumable: a
run whose folder holds `result.json` is not trained again, an unfinished one resumes from its
last checkpoint (the trainer's own resume), and a folder trained from another config is refused.
OUT receives base-config.yaml, variants.yaml, metrics.csv (one row per run), summary.csv,
results.md and psnr-y.png, all rewritten from the run folders on every call.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULT_FILE = "result.json"
METRIC_COLUMNS = ("variant", "seed", "psnr_y", "ssim_y", "iterations", "train_s", "eval_s")

# The reduced BSR: x2 BI, 16 features, 3 FMGs of 3 residual blocks, LR patches 24 in batches of 8,
# rotations only, Adam 5e-4 halved at 1/2 and 3/4 of 1,500 iterations (the shape of
# configs/bsr-bi-x4-cpu.yaml's schedule). About 2 minutes per run on one thread of the shared CPU.
BASE_CONFIG: dict = {
    "name": "bsr-ablation",
    "scale": 2,
    "seed": 0,
    "data": {
        "train": {
            "hr_folder": "../shared/data/photos/train",
            "degradation": "BI",
            "patch_size": 24,
            "batch_size": 8,
            "flips": False,
            "rotations": True,
            "sampler": "rfs",
            "rfs": {"intervals": 4, "tilt": 2.0},
            "num_workers": 0,
        },
    },
    "networks": {
        "g": {
            "arch": "bsr",
            "options": {"features": 16, "groups": 3, "blocks": 3},
            "optimizer": {"kind": "adam", "lr": 5.0e-4},
            "scheduler": {"kind": "multistep", "milestones": [750, 1125], "gamma": 0.5},
        },
    },
    "recipe": {
        "kind": "pixel",
        "losses": [{"kind": "mixed_norm", "options": {"alpha": 1.0, "beta": 1.0, "p": 1.5}}],
    },
    "train": {
        "iterations": 1500,
        "log_every": 50,
        "checkpoint_every": 500,
        "keep_checkpoints": 1,
        "tensorboard": False,
    },
}
DEV_FOLDER = "../shared/data/photos/dev"  # relative paths are taken from the repository root


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: tuple[str, ...]  # dotted overrides of the base config
    slides: float | None  # the slides' PSNR difference from BSR as published (Kong 2020)


# The slides' ablation (dataset and scale not stated): BSR 32.20 dB, without RFS 32.15, L2 only
# 32.17, L2 + L1 32.19.
VARIANTS: dict[str, Variant] = {
    "a-uniform-l2l1lp": Variant("(a) uniform, L2+L1+Lp", ("data.train.sampler=uniform",), -0.05),
    "b-rfs-l2l1lp": Variant("(b) RFS, L2+L1+Lp", (), None),
    "c-rfs-l2": Variant(
        "(c) RFS, L2",
        ("recipe.losses[0].options.alpha=0.0", "recipe.losses[0].options.beta=0.0"),
        -0.03,
    ),
    "d-rfs-l2l1": Variant("(d) RFS, L2+L1", ("recipe.losses[0].options.beta=0.0",), -0.01),
}
REFERENCE = "b-rfs-l2l1lp"  # BSR as configured: every other variant is compared with it
ALPHA = 0.05  # two-sided significance level of the noise criterion


@dataclass(frozen=True)
class RunResult:
    """One finished run: its dev scores, the baseline's and what it cost."""

    variant: str
    seed: int
    psnr_y: float
    ssim_y: float
    bicubic_psnr_y: float
    bicubic_ssim_y: float
    iterations: int
    train_s: float  # the trainer's logged spans (resumes summed, set-up excluded)
    eval_s: float
    hardware: str


# ------------------------------------------------------------------------------------ runs
def from_repo(path: Path) -> Path:
    """A path as given when absolute, else taken from the repository root."""
    return path if path.is_absolute() else (REPO / path).resolve()


def run_config(base: dict, settings: Sequence[str], variant: str, seed: int, train: Path):
    """The ExperimentConfig of one run: base, --set settings, the variant's overrides, seed."""
    from srlab.config import load_config
    from srlab.train.schema import ExperimentConfig

    overrides = [
        *settings,
        *VARIANTS[variant].overrides,
        f"seed={seed}",
        f"name=bsr-ablation-{variant}-seed{seed}",
        f"data.train.hr_folder={from_repo(train)}",
    ]
    return load_config(ExperimentConfig, base, overrides)


def dev_pairs(dev: Path, scale: int) -> list:
    """The dev photos as the trainer's validation reads them: whole HR images cut to a multiple
    of the scale, and their BI LR images rounded to 8 bit."""
    from srlab.data import make_degradation, make_val_pairs

    pairs = make_val_pairs(dev, scale, make_degradation("BI", scale))
    if not pairs:
        raise ValueError(f"{dev}: no images to score")
    return pairs


def run_one(cfg, variant: str, run_dir: Path, pairs: Sequence) -> RunResult:
    """Train (or resume, or skip when finished) one run and score its model on `pairs`."""
    import torch

    from srlab.config import dump_yaml
    from srlab.evaluation.protocol import Scoring, bicubic_scores, score_network
    from srlab.train.logbook import CONFIG_FILE, LOG_FILE
    from srlab.train.record import read_log
    from srlab.train.trainer import MODEL_FILE, Trainer
    from srlab.zoo import load_model

    result_path = run_dir / RESULT_FILE
    written = run_dir / CONFIG_FILE
    if written.is_file() and written.read_text(encoding="utf-8") != dump_yaml(cfg):
        raise ValueError(
            f"{written}: this run was trained from another config; move {run_dir} away or "
            "use another --work folder"
        )
    if result_path.is_file():
        return RunResult(**json.loads(result_path.read_text(encoding="utf-8")))
    Trainer(cfg, run_dir=run_dir, progress=False).fit()
    started = time.perf_counter()
    scoring = Scoring(crop_border=cfg.scale)
    model = load_model(run_dir / MODEL_FILE)
    scores, _ = score_network(model.module, model.spec, pairs, torch.device("cpu"), scoring)
    eval_s = time.perf_counter() - started
    bicubic = bicubic_scores(pairs, cfg.scale, scoring)
    rows = [[name, s["psnr_y"], s["ssim_y"]] for name, s in scores.per_image]
    write_rows(run_dir / "dev.csv", ("image", "psnr_y", "ssim_y"), rows)
    log = read_log(run_dir / LOG_FILE)
    result = RunResult(
        variant=variant, seed=cfg.seed, psnr_y=scores.psnr_y, ssim_y=scores.ssim_y,
        bicubic_psnr_y=bicubic.psnr_y, bicubic_ssim_y=bicubic.ssim_y,
        iterations=log.last_iteration, train_s=log.seconds, eval_s=eval_s,
        hardware="; ".join(log.hardware),
    )
    write_text(result_path, json.dumps(asdict(result), indent=1))
    return result


# ------------------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (n - 1; NaN below two runs) of one variant."""

    variant: str
    runs: int
    psnr_y_mean: float
    psnr_y_sd: float
    ssim_y_mean: float
    ssim_y_sd: float


@dataclass(frozen=True)
class Comparison:
    """A variant's PSNR-Y against the reference: the difference of means with Welch's t test
    (the criterion), the same-seed differences with a paired t test (NaN where undefined), and
    of the same-seed image pairs, how many the variant scores higher on."""

    variant: str
    difference: float
    welch_p: float
    paired_mean: float
    paired_sd: float
    paired_p: float
    images_above: int
    images_compared: int


def sample_sd(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


def summarise(results: Sequence[RunResult], variants: Sequence[str]) -> list[Summary]:
    out = []
    for variant in variants:
        psnr = [r.psnr_y for r in results if r.variant == variant]
        ssim = [r.ssim_y for r in results if r.variant == variant]
        out.append(Summary(variant, len(psnr), statistics.fmean(psnr), sample_sd(psnr),
                           statistics.fmean(ssim), sample_sd(ssim)))
    return out


def run_folder(work: Path, variant: str, seed: int) -> Path:
    return work / variant / f"seed{seed}"


def image_scores(work: Path, variant: str, seed: int) -> dict[str, float]:
    """A run's dev PSNR-Y per image, from its dev.csv."""
    with (run_folder(work, variant, seed) / "dev.csv").open(newline="", encoding="utf-8") as f:
        return {row["image"]: float(row["psnr_y"]) for row in csv.DictReader(f)}


def compare(results: Sequence[RunResult], variant: str, work: Path) -> Comparison:
    from scipy import stats

    def by_seed(name: str) -> dict[int, float]:
        return {r.seed: r.psnr_y for r in results if r.variant == name}

    ref, other = by_seed(REFERENCE), by_seed(variant)
    difference = statistics.fmean(other.values()) - statistics.fmean(ref.values())
    welch_p = math.nan
    if len(ref) > 1 and len(other) > 1:
        welch_p = float(stats.ttest_ind(list(other.values()), list(ref.values()),
                                        equal_var=False).pvalue)
    seeds = sorted(ref.keys() & other.keys())
    paired = [other[s] - ref[s] for s in seeds]
    paired_p = math.nan
    if len(paired) > 1 and sample_sd(paired) > 0:
        paired_p = float(stats.ttest_1samp(paired, 0.0).pvalue)
    mean = statistics.fmean(paired) if paired else math.nan
    above = compared = 0
    for seed in seeds:
        mine, theirs = image_scores(work, variant, seed), image_scores(work, REFERENCE, seed)
        above += sum(mine[name] > theirs[name] for name in theirs)
        compared += len(theirs)
    return Comparison(variant, difference, welch_p, mean, sample_sd(paired), paired_p, above,
                      compared)


@dataclass(frozen=True)
class Resolution:
    """What the seed noise lets this study resolve: the pooled seed sd of PSNR-Y, the smallest
    difference of two variant means that reaches p < ALPHA with `seeds` seeds each (Student's t,
    pooled), and the seeds per variant that 80 % power at 0.01 to 0.10 dB would take."""

    pooled_sd: float
    seeds: int
    smallest_visible: float
    seeds_needed: dict[float, int]


def resolution(summaries: Sequence[Summary]) -> Resolution | None:
    from scipy import stats

    usable = [s for s in summaries if s.runs > 1]
    if not usable:
        return None
    dof = sum(s.runs - 1 for s in usable)
    pooled = math.sqrt(sum((s.runs - 1) * s.psnr_y_sd**2 for s in usable) / dof)
    seeds = min(s.runs for s in usable)
    t = float(stats.t.ppf(1 - ALPHA / 2, 2 * seeds - 2)) if seeds > 1 else math.nan
    z = float(stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(0.8))
    needed = {d: math.ceil(2 * (z * pooled / d) ** 2) for d in (0.01, 0.03, 0.05, 0.10)}
    return Resolution(pooled, seeds, t * pooled * math.sqrt(2 / seeds), needed)


# -------------------------------------------------------------------------------- outputs
def write_text(path: Path, text: str) -> None:
    from srlab.io import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)


def write_rows(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    from srlab.io import atomic_write

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)

    atomic_write(path, write, overwrite=True)


def write_configs(out: Path, base_cfg, variants: Sequence[str], seeds: Sequence[int]) -> None:
    from srlab.config import dump_yaml

    header = ("# The base config of bench/bsr_ablation.py (paths from the repository root), "
              "as resolved by srlab.\n")
    write_text(out / "base-config.yaml", header + dump_yaml(base_cfg))
    listing = {
        "reference": REFERENCE,
        "seeds": list(seeds),
        "variants": {v: {"label": VARIANTS[v].label, "overrides": list(VARIANTS[v].overrides)}
                     for v in variants},
    }
    write_text(out / "variants.yaml", "# Each variant: the base config plus these overrides, "
               "and seed=N.\n" + yaml.safe_dump(listing, sort_keys=False))


def write_metrics(out: Path, results: Sequence[RunResult]) -> None:
    rows = [[r.variant, r.seed, r.psnr_y, r.ssim_y, r.iterations, round(r.train_s, 2),
             round(r.eval_s, 2)] for r in results]
    write_rows(out / "metrics.csv", METRIC_COLUMNS, rows)


def write_summary(out: Path, summaries: Sequence[Summary],
                  comparisons: dict[str, Comparison]) -> None:
    header = ["variant", "runs", "psnr_y_mean", "psnr_y_sd", "ssim_y_mean", "ssim_y_sd",
              "psnr_y_diff_vs_reference", "welch_p", "paired_diff_mean", "paired_diff_sd",
              "paired_p", "images_above_reference", "images_compared"]
    rows = []
    for s in summaries:
        c = comparisons.get(s.variant)
        tail = ([c.difference, c.welch_p, c.paired_mean, c.paired_sd, c.paired_p,
                 c.images_above, c.images_compared] if c else [""] * 7)
        rows.append([s.variant, s.runs, s.psnr_y_mean, s.psnr_y_sd, s.ssim_y_mean, s.ssim_y_sd,
                     *tail])
    write_rows(out / "summary.csv", header, rows)


def plus_minus(mean: float, sd: float, decimals: int) -> str:
    """`mean ± sd` (the mean alone where the sd is undefined)."""
    text = f"{mean:.{decimals}f}"
    return f"{text} ± {sd:.{decimals}f}" if math.isfinite(sd) else text


def number(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


def results_markdown(cfg, results: Sequence[RunResult], summaries: Sequence[Summary],
                     comparisons: dict[str, Comparison], resolved: Resolution | None,
                     parameters: int, images: int) -> str:
    """The study's report: set-up, table, criterion, verdict and what the noise allows."""
    bicubic = results[0]
    train = cfg.data.train
    g = cfg.networks["g"]
    options = g.options
    hardware = sorted({r.hardware for r in results})
    minutes = sum(r.train_s + r.eval_s for r in results) / 60
    seeds = sorted({r.seed for r in results})
    lines = [
        "# BSR ablation at reduced size: Random Filter Sampling and the mixed-norm loss",
        "",
        "Made by `bench/bsr_ablation.py` (rerun it to reproduce; finished runs are kept). Configs:",
        "[base-config.yaml](base-config.yaml) and [variants.yaml](variants.yaml); per run:",
        "[metrics.csv](metrics.csv); per variant: [summary.csv](summary.csv).",
        "",
        f"- Network: BSR x{cfg.scale} BI at **reduced size**, {options['features']} features,"
        f" {options['groups']} FMGs of {options['blocks']} residual blocks ({parameters:,}"
        " parameters; the full BSR has 64 features, 10 FMGs of 8 blocks, 6.5 M).",
        f"- Training: {cfg.train.iterations:,} iterations (the full recipe: 300,000), batch"
        f" {train.batch_size} of {train.patch_size}² LR patches, rotations, Adam"
        f" {g.optimizer.lr:g}, ×{g.scheduler.gamma:g} at iterations"
        f" {' and '.join(map(str, g.scheduler.milestones))};"
        f" RFS {train.rfs.intervals} intervals, tilt {train.rfs.tilt:g}; mixed norm"
        " p = 1.5, α and β 1 or 0 as the variant says.",
        f"- Seeds {', '.join(map(str, seeds))}: the config's `seed`, which sets the initial"
        " weights and the patch draws. With the same seed every variant starts from the same"
        " weights, and the RFS variants also see the same batches.",
        f"- Evaluation: the evaluation protocol (`srlab.evaluation.protocol`, as `srlab eval`"
        f" and validation score) on the {images} dev photos, **whole images** (no centre crop, no"
        f" tiles, float32), PSNR-Y/SSIM-Y with {cfg.scale} border pixels dropped;"
        f" bicubic: {bicubic.bicubic_psnr_y:.3f} dB / {bicubic.bicubic_ssim_y:.4f}.",
        f"- Cost: {len(results)} runs, {minutes:.0f} min of training and evaluation on"
        f" {'; '.join(hardware)}, sharing the machine with other jobs.",
        "",
        "| variant | runs | dev PSNR-Y (dB), mean ± sd | SSIM-Y, mean ± sd | Δ PSNR-Y vs (b) |"
        " Welch p | same-seed Δ, mean ± sd | paired p | same-seed images above (b) |"
        " the slides' Δ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        row = [VARIANTS[s.variant].label, str(s.runs), plus_minus(s.psnr_y_mean, s.psnr_y_sd, 3),
               plus_minus(s.ssim_y_mean, s.ssim_y_sd, 4)]
        c = comparisons.get(s.variant)
        if c is None:
            row += ["reference", "", "", "", ""]
        else:
            row += [f"{c.difference:+.3f}", number(c.welch_p, ".3f"),
                    plus_minus(c.paired_mean, c.paired_sd, 3), number(c.paired_p, ".3f"),
                    f"{c.images_above} / {c.images_compared}"]
        slides = VARIANTS[s.variant].slides
        row.append("" if slides is None else f"{slides:+.2f}")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        f"| bicubic | | {bicubic.bicubic_psnr_y:.3f} | {bicubic.bicubic_ssim_y:.4f} | | | | | | |",
        "",
        "sd: the sample standard deviation over seeds (n − 1). The slides' Δ: the PSNR"
        " differences of the slides' ablation (Kong 2020: BSR 32.20 dB, without RFS 32.15, L2"
        " only 32.17, L2 + L1 32.19; dataset and scale not stated), full-size BSR.",
        "",
        f"**Noise criterion.** A difference from (b) exceeds the noise when Welch's t test of the"
        f" seeds' PSNR-Y gives p < {ALPHA:g} (two-sided, for each comparison on its own)."
        " The paired test on the same-seed differences is shown beside it: it removes what the"
        " shared initial weights (and, between RFS variants, the shared batches) contribute to"
        " the noise.",
        "",
        "![dev PSNR-Y per seed and variant](psnr-y.png)",
        "",
        *verdict(cfg, comparisons, resolved),
    ]
    return "\n".join(lines) + "\n"


def verdict(
    cfg, comparisons: dict[str, Comparison], resolved: Resolution | None
) -> list[str]:
    """The sentences that follow from the numbers: which differences exceed the noise, and
    whether differences of the slides' size could be seen at all."""
    if not comparisons or resolved is None:
        return ["**Verdict.** Too few runs for a test (two seeds per variant at least)."]
    beyond = [c for c in comparisons.values() if c.welch_p < ALPHA]
    paired = [c for c in comparisons.values() if c.paired_p < ALPHA]
    if beyond:
        found = "; ".join(f"{VARIANTS[c.variant].label} {c.difference:+.3f} dB"
                          f" (p = {c.welch_p:.3f})" for c in beyond)
        first = f"**Verdict.** Differences from (b) that exceed the noise: {found}."
    else:
        first = "**Verdict.** No difference from (b) exceeds the noise (Welch p ≥ 0.05 for all)."
    count = len(comparisons)
    if beyond and count > 1:
        strict = [VARIANTS[c.variant].label for c in beyond if c.welch_p < ALPHA / count]
        first += (f" Corrected for the {count} comparisons (Bonferroni: p < {ALPHA / count:.3f}),"
                  f" {'remaining: ' + ', '.join(strict) if strict else 'none remains'}.")
    if paired:
        found = ", ".join(f"{VARIANTS[c.variant].label} ({c.paired_mean:+.3f} dB, p ="
                          f" {c.paired_p:.3f})" for c in paired)
        first += f" The paired test finds p < {ALPHA:g} for {found}."
    else:
        first += f" The paired test finds p ≥ {ALPHA:g} for all."
    r = resolved
    smallest = r.smallest_visible
    if smallest > 0.10:
        reach = "cannot be seen here: even 0.10 dB lies below"
    elif smallest > 0.03:
        reach = "can be seen here only at its upper end: 0.03 dB lies below"
    else:
        reach = "can be seen here: the whole range lies above"
    needed = ", ".join(f"{n} for {d:.2f} dB" for d, n in r.seeds_needed.items())
    second = (
        f"**Can we see 0.03–0.10 dB?** The seeds' pooled sd of dev PSNR-Y is {r.pooled_sd:.3f} dB,"
        f" so with {r.seeds} seeds per variant two means must differ by {smallest:.3f} dB to reach"
        f" p < {ALPHA:g}. A difference of 0.03–0.10 dB {reach} that threshold, and the slides'"
        " own differences for these variants are 0.01–0.05 dB. Detecting a difference with 80 %"
        f" power would take about {needed} (seeds per variant, at this noise). And this is a"
        f" {cfg.train.iterations:,}-iteration, reduced-size model: a difference seen or missed"
        " here need not hold for the full BSR after 300,000 iterations, where RFS and the loss"
        " act on a network that has learnt far more detail."
    )
    return [first, "", second]


def plot(out: Path, results: Sequence[RunResult], variants: Sequence[str]) -> None:
    """Left: each seed's dev PSNR-Y per variant, the mean ± sd and the bicubic line. Right: the
    same-seed differences from the reference (zero: no change)."""
    from srlab.plotting import pyplot, save_figure

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    seeds = sorted({r.seed for r in results})
    colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(seeds)}
    ref = {r.seed: r.psnr_y for r in results if r.variant == REFERENCE}
    labels = [VARIANTS[v].label for v in variants]
    for x, variant in enumerate(variants):
        runs = [r for r in results if r.variant == variant]
        values = [r.psnr_y for r in runs]
        left.errorbar(x + 0.15, statistics.fmean(values), yerr=sample_sd(values) if
                      len(values) > 1 else None, fmt="_", color="black", markersize=18,
                      capsize=4, zorder=3)
        for r in runs:
            left.plot(x - 0.1, r.psnr_y, "o", color=colours[r.seed], alpha=0.85)
            if r.seed in ref:
                right.plot(x - 0.1, r.psnr_y - ref[r.seed], "o", color=colours[r.seed], alpha=0.85)
        paired = [r.psnr_y - ref[r.seed] for r in runs if r.seed in ref]
        if paired:
            right.errorbar(x + 0.15, statistics.fmean(paired), yerr=sample_sd(paired) if
                           len(paired) > 1 else None, fmt="_", color="black", markersize=18,
                           capsize=4, zorder=3)
    left.axhline(results[0].bicubic_psnr_y, color="grey", linestyle="--", label="bicubic")
    right.axhline(0, color="grey", linewidth=1)
    for s in seeds:
        left.plot([], [], "o", color=colours[s], label=f"seed {s}")
    left.plot([], [], "_", color="black", markersize=18, label="mean ± sd")
    left.set_ylabel("dev PSNR-Y (dB)")
    left.set_title("dev PSNR-Y per seed")
    right.set_ylabel(f"PSNR-Y − {VARIANTS[REFERENCE].label} (dB)")
    right.set_title("difference from (b), same seed")
    for axis in (left, right):
        axis.set_xticks(range(len(variants)), labels, rotation=15)
        axis.grid(axis="y", alpha=0.3)
    left.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    save_figure(fig, out / "psnr-y.png", overwrite=True)


def report(out: Path, work: Path, base_cfg, results: Sequence[RunResult],
           variants: Sequence[str], seeds: Sequence[int], images: int) -> None:
    """Every file of OUT, from the finished runs."""
    from srlab.archs import ARCHITECTURES

    out.mkdir(parents=True, exist_ok=True)
    write_configs(out, base_cfg, variants, seeds)
    write_metrics(out, results)
    summaries = summarise(results, variants)
    comparisons = {v: compare(results, v, work) for v in variants if v != REFERENCE}
    if REFERENCE not in variants:
        comparisons = {}
    write_summary(out, summaries, comparisons)
    g = base_cfg.networks["g"]
    network = ARCHITECTURES[g.arch].build(**g.options, scale=base_cfg.scale)
    parameters = sum(p.numel() for p in network.parameters() if p.requires_grad)
    text = results_markdown(base_cfg, results, summaries, comparisons, resolution(summaries),
                            parameters, images)
    write_text(out / "results.md", text)
    plot(out, results, variants)


# ----------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("runs/bsr-ablation"),
                   help="folder of the run folders (default: runs/bsr-ablation)")
    p.add_argument("--out", type=Path, default=Path("docs/results/bsr-ablation"),
                   help="folder of the results (default: docs/results/bsr-ablation)")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--train", type=Path, default=Path(BASE_CONFIG["data"]["train"]["hr_folder"]),
                   help="training photos (default: ../shared/data/photos/train)")
    p.add_argument("--dev", type=Path, default=Path(DEV_FOLDER),
                   help="photos scored, whole (default: ../shared/data/photos/dev)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a base config value for every run, e.g. train.iterations=500")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        p.error("--seeds: distinct non-negative integers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from srlab.config import load_config
    from srlab.train.schema import ExperimentConfig

    torch.set_num_threads(args.threads)
    variants = [v for v in VARIANTS if v in args.variants]  # the table's order
    work, out, dev = from_repo(args.work), from_repo(args.out), from_repo(args.dev)
    try:
        base = load_config(ExperimentConfig, BASE_CONFIG,
                           [*args.settings, f"data.train.hr_folder={args.train}"])
        pairs = dev_pairs(dev, base.scale)
        results = []
        for variant in variants:
            for seed in args.seeds:
                cfg = run_config(BASE_CONFIG, args.settings, variant, seed, args.train)
                started = time.perf_counter()
                result = run_one(cfg, variant, run_folder(work, variant, seed), pairs)
                print(f"{variant} seed {seed}: dev PSNR-Y {result.psnr_y:.3f} dB, SSIM-Y"
                      f" {result.ssim_y:.4f} ({time.perf_counter() - started:.0f} s here)",
                      flush=True)
                results.append(result)
        report(out, work, base, results, variants, args.seeds, len(pairs))
    except ValueError as exc:  # ConfigError, EvalError and the run-folder checks: one line
        print(f"bsr_ablation: error: {exc}", file=sys.stderr)
        return 255
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
