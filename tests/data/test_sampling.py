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


def test_pic_edges_are_equal_width_in_log_and_deterministic(source):
    edges = pic_edges(source, 8, seed=0, samples=500)
    assert len(edges) == 5 and list(edges) == sorted(edges)
    widths = np.diff(np.log1p(edges))
    np.testing.assert_allclose(widths, widths[0], rtol=1e-9)
    assert pic_edges(source, 8, seed=0, samples=500) == edges
    assert pic_edges(source, 8, seed=1, samples=500) != edges


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


def test_rfs_guard_fills_an_impossible_quota_at_random(source):
    """No patch reaches the top interval: after max_rounds the batch is filled uniformly."""
    planner = RFSPlanner(seed=0, patch_size=8, edges=(0.0, 1e11, 1e12), max_rounds=3)
    requests = planner.plan(0, 6, source)
    assert len(requests) == 6
    assert planner.plan(0, 6, source) == requests
    assert all(b == 0 for b in planner.interval(pic(source.lr_batch(requests))))
