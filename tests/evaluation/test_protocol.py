"""One evaluation protocol for validation during training and `srlab eval`: 8-bit outputs of a
network's final image, scored with the border crop; the same pairs and seeds for both."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from srlab import metrics
from srlab.archs import ModelSpec
from srlab.archs.edsr import EDSR
from srlab.data import BI, DN, image_generator, make_val_pairs
from srlab.evaluation.benchmark import load_pair
from srlab.evaluation.protocol import (
    Scoring,
    bicubic_scores,
    score_network,
    score_pairs,
    whole_image,
)
from srlab.infer.upscaler import Upscaler
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel


@pytest.fixture(scope="module")
def hr_folder(tmp_path_factory, shared_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("hr")
    for name, box in (("fruits.png", (100, 150, 308, 262)), ("plant.png", (40, 60, 250, 174))):
        source = shared_dir / "data" / "photos" / "dev" / f"opencv_{name}"
        with Image.open(source) as im:
            im.convert("RGB").crop(box).save(folder / name)
    return folder


def _reference(pairs, outputs, border):
    """PSNR-Y and SSIM-Y of the given outputs, rounded to 8 bit as MATLAB's im2uint8."""
    rows = []
    for pair, sr in zip(pairs, outputs, strict=True):
        sr8 = np.floor(np.clip(sr, 0, 1) * 255 + 0.5).astype(np.uint8)
        rows.append((metrics.psnr(pair.hr, sr8, crop_border=border),
                     metrics.ssim(pair.hr, sr8, crop_border=border)))
    return np.mean(rows, axis=0)


class TwoSteps(nn.Module):
    """A multi-output network: a poor first image, then EDSR's; `last_only` skips the first."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.edsr = EDSR(scale=2, blocks=1, features=8)
        self.first_calls = 0

    def forward(self, x: torch.Tensor, last_only: bool = False) -> list[torch.Tensor]:
        if last_only:
            return [self.edsr(x)]
        self.first_calls += 1
        return [torch.zeros_like(self.edsr(x)), self.edsr(x)]


def test_a_network_is_scored_on_its_final_image_quantised_to_8_bit(hr_folder):
    pairs = make_val_pairs(hr_folder, 2)
    net = TwoSteps().train()
    scores, outputs = score_network(net, ModelSpec(multi_output=True), pairs,
                                    torch.device("cpu"), Scoring(crop_border=2))
    assert net.training and net.first_calls == 0  # eval mode while scoring, then restored
    for output, pair in zip(outputs, pairs, strict=True):
        assert output.dtype == np.uint8 and output.shape == pair.hr.shape
    with torch.no_grad():
        direct = [net.eval().edsr(torch.from_numpy(p.lr).permute(2, 0, 1)[None])[0]
                  .permute(1, 2, 0).numpy() for p in pairs]
    psnr_y, ssim_y = _reference(pairs, direct, 2)
    assert scores.psnr_y == pytest.approx(psnr_y, abs=1e-9)
    assert scores.ssim_y == pytest.approx(ssim_y, abs=1e-12)
    assert [name for name, _ in scores.per_image] == ["fruits", "plant"]


def test_the_baseline_is_matlab_bicubic_and_extras_are_added_on_request(hr_folder):
    pairs = make_val_pairs(hr_folder, 2)
    plain = bicubic_scores(pairs, 2, Scoring(crop_border=2))
    psnr_y, ssim_y = _reference(pairs, [imresize(p.lr, 2) for p in pairs], 2)
    assert plain.psnr_y == pytest.approx(psnr_y, abs=1e-9)
    assert plain.ssim_y == pytest.approx(ssim_y, abs=1e-12)
    wider = bicubic_scores(pairs, 2, Scoring(crop_border=4, rgb=True, niqe=True))
    assert list(wider.means) == ["psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "niqe"]
    assert wider.psnr_y != plain.psnr_y  # the border crop is the scoring's


def test_validation_and_eval_make_the_same_pairs_from_the_same_seeds(hr_folder):
    """Validation pairs (float32 degradation) and eval's (float64) share HR exactly and LR up to
    the rare 8-bit rounding tie; random degradations draw the same noise for an image."""
    for degradation, seed in ((BI(2), 0), (DN(2), 3)):
        val = make_val_pairs(hr_folder, 2, degradation, seed=seed)
        for index, pair in enumerate(val):
            path = hr_folder / f"{pair.name}.png"
            ours = load_pair(path, pair.name, degradation, image_generator(seed, index))
            np.testing.assert_array_equal(ours.hr, pair.hr)
            differ = np.abs(ours.lr - pair.lr) * 255
            assert differ.max() <= 1 + 1e-4 and np.mean(differ > 0.5) < 1e-3


def test_the_upscaler_and_whole_images_give_the_same_8_bit_outputs(hr_folder):
    """`srlab eval` runs models through the Upscaler (tiles, channels-last), validation on whole
    images: for a local network both paths give the same 8-bit images but for rare ties."""
    pairs = make_val_pairs(hr_folder, 2)
    torch.manual_seed(0)
    net = EDSR(scale=2, blocks=1, features=8)
    spec = ModelSpec(receptive_radius=12)  # it sees 6 LR pixels each way
    model = LoadedModel("edsr", "edsr", 2, net, spec)
    tiled = score_pairs(pairs, Upscaler(model, tile=32, tile_overlap=8).upscale_array,
                        Scoring(crop_border=2))[1]
    whole = score_pairs(pairs, whole_image(net, spec, torch.device("cpu")),
                        Scoring(crop_border=2))[1]
    for a, b in zip(tiled, whole, strict=True):
        assert np.abs(a.astype(int) - b).max() <= 1 and np.mean(a != b) < 1e-3
