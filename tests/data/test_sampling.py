"""Dihedral transforms, the uniform planner, PIC and BSR's Random Filter Sampling planner."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlab.data import (
    ALL_TRANSFORMS,
    ROTATIONS,
    HRFolderSource,
    RFSPlanner,
    UniformPlanner,
    allowed_transforms,
    dihedral,
    pic,
    pic_edges,
)
from srlab.data.sampling import interval_masses


def _folder(tmp_path: Path, count: int, shape=(40, 52)) -> Path:
    """``count`` images whose texture amplitude grows with the index (image 0 is flat)."""
    rng = np.random.default_rng(0)
    for i in range(count):
        amplitude = 120 * i / max(count - 1, 1)
        pixels = 128 + amplitude * (rng.random((*shape, 3)) - 0.5)
        Image.fromarray(np.rint(pixels).astype(np.uint8)).save(tmp_path / f"{i:02d}.png")
    return tmp_path


@pytest.fixture
def source(tmp_path):
    return HRFolderSource(_folder(tmp_path, 5), 2)  # LR images 20 x 26


def test_rotations_are_numpy_rot90_and_all_eight_transforms_differ():
    x = np.arange(12).reshape(3, 4)
    for k, transform in enumerate(ROTATIONS):
        np.testing.assert_array_equal(dihedral(x, transform), np.rot90(x, k))
    square = np.arange(9).reshape(1, 3, 3)
    images = {dihedral(square, t).tobytes() for t in ALL_TRANSFORMS}
    assert len(images) == 8
    assert dihedral(square, 0) is square
    with pytest.raises(ValueError, match=r"0\.\.7"):
        dihedral(square, 8)


def test_allowed_transforms_are_the_subgroups():
    assert allowed_transforms(flips=False, rotations=False) == (0,)
    assert allowed_transforms(flips=True, rotations=False) == (0, 1)
    assert set(allowed_transforms(flips=False, rotations=True)) == set(ROTATIONS)
    assert allowed_transforms(flips=True, rotations=True) == ALL_TRANSFORMS
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(dihedral(x, 1), x[:, ::-1])


def test_uniform_planner_is_a_pure_function_of_seed_and_batch(source):
    planner = UniformPlanner(seed=3, patch_size=8)
    later = planner.plan(7, 4, source)
    assert [planner.plan(b, 4, source) for b in range(8)][7] == later
    assert UniformPlanner(seed=3, patch_size=8).plan(7, 4, source) == later
    assert UniformPlanner(seed=4, patch_size=8).plan(7, 4, source) != later
    assert planner.plan(6, 4, source) != later


def test_uniform_planner_visits_every_image_once_per_epoch(source):
    """Batch size 3 does not divide 5 images: epochs straddle batches, counts stay exact."""
    planner = UniformPlanner(seed=1, patch_size=8)
    stream = [r.image for b in range(10) for r in planner.plan(b, 3, source)]  # 6 epochs
    epochs = [stream[e * 5 : (e + 1) * 5] for e in range(6)]
    assert all(sorted(epoch) == [0, 1, 2, 3, 4] for epoch in epochs)
    assert len({tuple(epoch) for epoch in epochs}) > 1  # reshuffled every epoch


def test_uniform_planner_crops_fit_and_use_only_allowed_transforms(source):
    rotations = allowed_transforms(flips=False, rotations=True)
    planner = UniformPlanner(seed=0, patch_size=20, transforms=rotations)
    requests = [r for b in range(50) for r in planner.plan(b, 8, source)]
    assert {r.transform for r in requests} == set(rotations)
    assert all(r.size == 20 and r.top == 0 and 0 <= r.left <= 6 for r in requests)
    assert {r.left for r in requests} == set(range(7))  # every position is reachable
    assert len({r.seed for r in requests}) == len(requests)


def test_planner_settings_are_checked():
    with pytest.raises(ValueError, match="seed"):
        UniformPlanner(seed=-1, patch_size=8)
    with pytest.raises(ValueError, match="transforms"):
        UniformPlanner(seed=0, patch_size=8, transforms=(0, 8))
    with pytest.raises(ValueError, match="edges"):
        RFSPlanner(seed=0, patch_size=8, edges=(3.0, 1.0))


def test_pic_of_a_step_edge_and_of_flat_patches():
    flat = np.full((2, 3, 10, 10), 0.4)
    np.testing.assert_array_equal(pic(flat), [0, 0])
    step = np.zeros((1, 3, 10, 10))
    step[..., 5:] = 1.0
    # Sobel |Gx| = 4 * 255 in the two valid columns beside the step, 8 valid rows, 3 channels.
    np.testing.assert_allclose(pic(step), [3 * 8 * 2 * 4 * 255], rtol=1e-6)
    turned = np.stack([dihedral(step[0], t) for t in ALL_TRANSFORMS])
    np.testing.assert_allclose(pic(turned), np.full(8, pic(step)[0]), rtol=1e-6)


def test_interval_masses_get_tilt_times_rarer_toward_detail():
    np.testing.assert_allclose(interval_masses(4, 2.0), np.array([8, 4, 2, 1]) / 15)
    np.testing.assert_allclose(interval_masses(3, 1.0), np.full(3, 1 / 3))  # as uniform
    np.testing.assert_allclose(interval_masses(1, 3.0), [1.0])
    for intervals, tilt in ((0, 2.0), (4, 0.5), (4, float("nan"))):
        with pytest.raises(ValueError, match="tilt >= 1"):
            interval_masses(intervals, tilt)


def test_pic_edges_are_quantiles_at_the_masses_and_deterministic(source):
    edges = pic_edges(source, 8, seed=0, samples=600)
    assert len(edges) == 5 and list(edges) == sorted(edges)
    planner = RFSPlanner(seed=0, patch_size=8, edges=edges)
    values = pic(source.lr_batch(UniformPlanner(seed=9, patch_size=8).plan(0, 3000, source)))
    shares = np.bincount(planner.interval(values), minlength=4) / len(values)
    np.testing.assert_allclose(shares, interval_masses(4, 2.0), atol=0.03)  # fresh patches
    assert pic_edges(source, 8, seed=0, samples=600) == edges
    assert pic_edges(source, 8, seed=1, samples=600) != edges
    assert len(pic_edges(source, 8, seed=0, intervals=2, tilt=1.0, samples=600)) == 3


def test_rfs_quotas_give_the_remainder_to_the_detailed_end():
    planner = RFSPlanner(seed=0, patch_size=8, edges=(0.0, 1.0, 2.0, 3.0, 4.0))
    assert list(planner.quotas(16)) == [4, 4, 4, 4]
    assert list(planner.quotas(10)) == [2, 2, 3, 3]
    assert list(planner.interval(np.array([-5.0, 0.5, 1.0, 3.5, 99.0]))) == [0, 0, 1, 3, 3]


def test_rfs_fills_every_quota_and_balances_a_skewed_set(tmp_path):
    """Nine flat images and one textured: uniform sampling is 90 % flat, RFS is 50 %."""
    rng = np.random.default_rng(1)
    for i in range(10):
        amplitude = 200 if i == 9 else 2
        pixels = 128 + amplitude * (rng.random((40, 40, 3)) - 0.5)
        Image.fromarray(np.rint(pixels).astype(np.uint8)).save(tmp_path / f"{i}.png")
    source = HRFolderSource(tmp_path, 2)
    probes = UniformPlanner(0, 8).plan(0, 40, source)
    values = pic(source.lr_batch(probes))
    is_textured = np.array([r.image == 9 for r in probes])
    flat, textured = values[~is_textured].max(), values[is_textured].min()
    assert flat < textured
    split = float(np.sqrt(flat * textured))
    planner = RFSPlanner(seed=5, patch_size=8, edges=(0.0, split, 1e12))
    for b in range(5):
        requests = planner.plan(b, 8, source)
        bins = planner.interval(pic(source.lr_batch(requests)))
        assert Counter(bins.tolist()) == {0: 4, 1: 4}
        assert Counter(r.image == 9 for r in requests) == {False: 4, True: 4}
        assert planner.plan(b, 8, source) == requests
    assert RFSPlanner(seed=6, patch_size=8, edges=planner.edges).plan(0, 8, source) != (
        planner.plan(0, 8, source)
    )


def _mixed_folder(folder: Path) -> Path:
    """Ten flat images (gentle ramps) and six textured ones whose texture fades in across the
    image: uniform crops are mostly flat, detailed ones rare, and PIC varies continuously."""
    rng = np.random.default_rng(2)
    ramp = np.linspace(0, 1, 48)
    for i in range(16):
        if i < 10:
            pixels = 60 + 12 * i * ramp[None, :, None] + 2 * rng.random((48, 48, 3))
        else:
            fade = ramp[None, :, None] ** 3
            pixels = 128 + (i - 8) * 30 * fade * (rng.random((48, 48, 3)) - 0.5)
        Image.fromarray(np.rint(pixels.clip(0, 255)).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def test_rfs_batches_follow_the_quotas_and_oversample_rare_detail(tmp_path):
    """Every batch holds its quota per interval; patches above uniform sampling's 90th PIC
    percentile make at least 2.5 x their uniform share (the top interval alone is 1/15 of the
    uniform patches and fills a quarter of each batch; 3.1 x is expected)."""
    source = HRFolderSource(_mixed_folder(tmp_path), 2)  # LR images 24 x 24
    planner = RFSPlanner(seed=4, patch_size=8, edges=pic_edges(source, 8, seed=4, samples=2000))
    quotas = planner.quotas(16)
    rfs = []
    for b in range(40):
        values = pic(source.lr_batch(planner.plan(b, 16, source)))
        np.testing.assert_array_equal(np.bincount(planner.interval(values), minlength=4), quotas)
        rfs.append(values)
    uniform = UniformPlanner(seed=4, patch_size=8)
    plain = np.concatenate([pic(source.lr_batch(uniform.plan(b, 16, source))) for b in range(160)])
    top_decile = np.percentile(plain, 90)
    uniform_share = np.mean(plain > top_decile)
    rfs_share = np.mean(np.concatenate(rfs) > top_decile)
    assert 0.09 <= uniform_share <= 0.1
    assert rfs_share >= 2.5 * uniform_share
    flat_half = np.mean(np.concatenate(rfs) <= np.median(plain))
    assert flat_half <= 0.3  # the flat half of uniform patches is under-sampled


def _two_kinds(folder: Path) -> tuple[HRFolderSource, float, float]:
    """Nine near-flat images and one textured; the largest flat and smallest textured PIC."""
    rng = np.random.default_rng(1)
    for i in range(10):
        amplitude = 200 if i == 9 else 2
        pixels = 128 + amplitude * (rng.random((40, 40, 3)) - 0.5)
        Image.fromarray(np.rint(pixels).astype(np.uint8)).save(folder / f"{i}.png")
    source = HRFolderSource(folder, 2)
    probes = UniformPlanner(0, 8).plan(0, 60, source)
    values = pic(source.lr_batch(probes))
    is_textured = np.array([r.image == 9 for r in probes])
    return source, float(values[~is_textured].max()), float(values[is_textured].min())


def test_rfs_guard_fills_an_impossible_quota_from_the_nearest_interval(source):
    """No patch reaches the top interval: after max_rounds the batch is filled from below."""
    planner = RFSPlanner(seed=0, patch_size=8, edges=(0.0, 1e11, 1e12), max_rounds=3)
    requests = planner.plan(0, 6, source)
    assert len(requests) == 6
    assert planner.plan(0, 6, source) == requests
    assert all(b == 0 for b in planner.interval(pic(source.lr_batch(requests))))


def test_rfs_guard_prefers_the_nearest_and_then_the_more_detailed_interval(tmp_path):
    source, flat, textured = _two_kinds(tmp_path)
    assert 2 * flat < textured
    gap = (2 * flat, textured / 2)  # an interval that no patch falls in
    middle_empty = RFSPlanner(seed=1, patch_size=8, edges=(0.0, *gap, 1e12), max_rounds=4)
    bins = middle_empty.interval(pic(source.lr_batch(middle_empty.plan(0, 6, source))))
    assert Counter(bins.tolist()) == {0: 2, 2: 4}  # a tie: the detailed neighbour fills
    inside_gap = float(np.sqrt(gap[0] * gap[1]))
    two_empty = RFSPlanner(seed=1, patch_size=8, edges=(0.0, gap[0], inside_gap, gap[1], 1e12))
    bins = two_empty.interval(pic(source.lr_batch(two_empty.plan(0, 8, source))))
    assert Counter(bins.tolist()) == {0: 4, 3: 4}  # intervals 1 and 2 from their neighbours


def test_rfs_guard_draws_more_when_fewer_candidates_than_places(source):
    planner = RFSPlanner(seed=2, patch_size=8, edges=(0.0, 1e11, 1e12), candidates=1,
                         max_rounds=1)
    requests = planner.plan(3, 6, source)
    assert len(requests) == 6 and planner.plan(3, 6, source) == requests
