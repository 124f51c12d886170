"""Models trained by srlab keep the claims that made them ship (docs/models.md), re-measured on
the first dev photos with `srlab eval`'s protocol."""

from pathlib import Path

from srlab.evaluation.benchmark import evaluate


def psnr_gain(model: str, folder: Path, scale: int, images: int) -> float:
    """Mean PSNR-Y of `model` minus bicubic's, in dB."""
    report = evaluate(model, folder, scale, max_images=images)
    means = {row.method: row.scores["psnr_y"] for row in report.means}
    return means[model] - means["bicubic"]


def test_fast_srfbn_srlab_x16_beats_bicubic(shared_dir: Path):
    # 14 dev photos: +0.99 dB; these four: +0.52 dB
    assert psnr_gain("fast-srfbn-srlab-x16", shared_dir / "data/photos/dev", 16, 4) > 0.3


def test_gmgbp_srlab_x4_beats_bicubic(shared_dir: Path):
    # 14 dev photos: +2.13 dB; these four: +1.20 dB
    assert psnr_gain("gmgbp-srlab-x4", shared_dir / "data/photos/dev", 4, 4) > 0.9
