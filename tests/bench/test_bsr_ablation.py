"""bench/bsr_ablation.py on a trivial budget: every output is made, its numbers follow from the
per-run CSV, the variants' overrides reach the runs, and a rerun trains nothing again."""

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "bsr_ablation.py"
VARIANTS = ["b-rfs-l2l1lp", "c-rfs-l2"]
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("bsr_ablation", RUNNER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _photos(folder: Path, seed: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(3):
        image = np.kron(rng.random((12, 10, 3)), np.ones((6, 6, 1))) * 255
        Image.fromarray(image.astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


@pytest.fixture(scope="module")
def study(runner, tmp_path_factory):
    """The runner's arguments and where it wrote, after one call."""
    root = tmp_path_factory.mktemp("ablation")
    args = [
        "--work", str(root / "work"), "--out", str(root / "out"),
        "--train", str(_photos(root / "train", 0)), "--dev", str(_photos(root / "dev", 1)),
        "--variants", *VARIANTS, "--seeds", *map(str, SEEDS),
        "--set", "train.iterations=2", "--set", "data.train.patch_size=8",
        "--set", "data.train.rfs.calibration_samples=64",
    ]
    assert runner.main(args) == 0
    return args, root


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_output_is_made(study):
    _, root = study
    out = root / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["base-config.yaml", "variants.yaml", "metrics.csv", "summary.csv", "results.md",
         "psnr-y.png"])
    assert (out / "psnr-y.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    listing = yaml.safe_load((out / "variants.yaml").read_text())
    assert listing["reference"] == "b-rfs-l2l1lp" and listing["seeds"] == SEEDS
    assert listing["variants"]["c-rfs-l2"]["overrides"] == [
        "recipe.losses[0].options.alpha=0.0", "recipe.losses[0].options.beta=0.0"]
    base = yaml.safe_load((out / "base-config.yaml").read_text())
    assert base["train"]["iterations"] == 2 and base["data"]["train"]["sampler"] == "rfs"


def test_metrics_hold_one_finished_run_per_variant_and_seed(study):
    _, root = study
    rows = _rows(root / "out" / "metrics.csv")
    assert list(rows[0]) == ["variant", "seed", "psnr_y", "ssim_y", "iterations", "train_s",
                             "eval_s"]
    assert [(r["variant"], int(r["seed"])) for r in rows] == [
        (v, s) for v in VARIANTS for s in SEEDS]
    for r in rows:
        assert int(r["iterations"]) == 2
        assert 5 < float(r["psnr_y"]) < 60 and 0 < float(r["ssim_y"]) <= 1
        assert float(r["train_s"]) >= 0 and float(r["eval_s"]) >= 0


def test_summary_and_table_follow_from_the_metrics(study):
    _, root = study
    rows = _rows(root / "out" / "metrics.csv")
    summary = {r["variant"]: r for r in _rows(root / "out" / "summary.csv")}
    text = (root / "out" / "results.md").read_text()
    means = {}
    for variant in VARIANTS:
        psnr = np.array([float(r["psnr_y"]) for r in rows if r["variant"] == variant])
        ssim = np.array([float(r["ssim_y"]) for r in rows if r["variant"] == variant])
        got = summary[variant]
        assert int(got["runs"]) == len(SEEDS)
        assert float(got["psnr_y_mean"]) == pytest.approx(psnr.mean(), abs=1e-12)
        assert float(got["psnr_y_sd"]) == pytest.approx(psnr.std(ddof=1), abs=1e-12)
        assert float(got["ssim_y_mean"]) == pytest.approx(ssim.mean(), abs=1e-12)
        assert float(got["ssim_y_sd"]) == pytest.approx(ssim.std(ddof=1), abs=1e-12)
        assert f"{psnr.mean():.3f} ± {psnr.std(ddof=1):.3f}" in text
        means[variant] = psnr.mean()
    by_seed = {(r["variant"], int(r["seed"])): float(r["psnr_y"]) for r in rows}
    paired = [by_seed["c-rfs-l2", s] - by_seed["b-rfs-l2l1lp", s] for s in SEEDS]
    c = summary["c-rfs-l2"]
    difference = means["c-rfs-l2"] - means["b-rfs-l2l1lp"]
    assert float(c["psnr_y_diff_vs_reference"]) == pytest.approx(difference, abs=1e-12)
    assert float(c["paired_diff_mean"]) == pytest.approx(np.mean(paired), abs=1e-12)
    assert 0 <= float(c["welch_p"]) <= 1
    assert summary["b-rfs-l2l1lp"]["psnr_y_diff_vs_reference"] == ""
    above = 0
    for seed in SEEDS:
        dev = {v: {r["image"]: float(r["psnr_y"])
                   for r in _rows(root / "work" / v / f"seed{seed}" / "dev.csv")}
               for v in VARIANTS}
        assert len(dev["c-rfs-l2"]) == 3
        above += sum(dev["c-rfs-l2"][k] > dev["b-rfs-l2l1lp"][k] for k in dev["b-rfs-l2l1lp"])
    assert (int(c["images_above_reference"]), int(c["images_compared"])) == (above, 3 * len(SEEDS))
    assert f"{above} / {3 * len(SEEDS)}" in text
    assert f"{difference:+.3f}" in text and "**Verdict.**" in text


def test_the_variants_and_seeds_reach_the_runs(study):
    _, root = study
    for variant, alpha, beta in (("b-rfs-l2l1lp", 1.0, 1.0), ("c-rfs-l2", 0.0, 0.0)):
        for seed in SEEDS:
            cfg = yaml.safe_load((root / "work" / variant / f"seed{seed}" / "config.yaml")
                                 .read_text())
            assert cfg["seed"] == seed
            assert cfg["recipe"]["losses"][0]["options"] == {"alpha": alpha, "beta": beta,
                                                              "p": 1.5}


def test_a_rerun_trains_nothing_and_a_changed_config_is_refused(runner, study, capsys):
    args, root = study
    logs = sorted((root / "work").glob("*/seed*/train.log"))
    assert len(logs) == len(VARIANTS) * len(SEEDS)
    before = [p.read_text() for p in logs]
    metrics = (root / "out" / "metrics.csv").read_text()
    assert runner.main(args) == 0
    assert [p.read_text() for p in logs] == before
    assert (root / "out" / "metrics.csv").read_text() == metrics
    capsys.readouterr()
    assert runner.main([*args, "--set", "train.iterations=3"]) == 255
    err = capsys.readouterr().err.strip()
    assert err.startswith("bsr_ablation: error: ") and "another config" in err
    assert "\n" not in err
