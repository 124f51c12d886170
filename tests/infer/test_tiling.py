"""Tile plans cover the image and their blend weights form a partition of unity."""

import itertools

import numpy as np
import pytest

from srlab.infer.tiling import plan_tiles, split_axis


@pytest.mark.parametrize(("length", "tile", "overlap"), [(1, 8, 0), (37, 8, 4), (100, 32, 16)])
def test_cores_partition_the_axis_and_reads_stay_inside(length, tile, overlap):
    spans = split_axis(length, tile, overlap)
    assert spans[0].core_start == 0 and spans[-1].core_stop == length
    for a, b in itertools.pairwise(spans):
        assert a.core_stop == b.core_start
    for s in spans:
        assert 0 < s.core_stop - s.core_start <= tile
        assert s.read_start == max(0, s.core_start - overlap)
        assert s.read_stop == min(length, s.core_stop + overlap)


@pytest.mark.parametrize(
    ("h", "w", "tile", "overlap", "scale"),
    [
        (37, 53, 16, 8, 3),
        (64, 64, 32, 16, 2),
        (20, 9, 8, 4, 4),
        (10, 10, 5, 0, 2),
        (33, 17, 9, 3, 1),
    ],
)
def test_blend_weights_sum_to_one_everywhere(h, w, tile, overlap, scale):
    total = np.zeros((h * scale, w * scale))
    count = 0
    for t in plan_tiles(h, w, tile, overlap, scale):
        rows = slice(t.rows.read_start * scale, t.rows.read_stop * scale)
        cols = slice(t.cols.read_start * scale, t.cols.read_stop * scale)
        assert t.weights.shape == (rows.stop - rows.start, cols.stop - cols.start)
        assert t.weights.min() >= 0
        total[rows, cols] += t.weights
        count += 1
    assert count == -(-h // tile) * -(-w // tile)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_weights_vanish_in_the_outer_half_of_the_context():
    """A tile's own artificial border (its outer overlap/2 pixels) must never be blended in."""
    overlap, scale = 8, 2
    tiles = list(plan_tiles(1, 40, 16, overlap, scale))
    inner = tiles[1]  # has neighbours on both sides
    cols = inner.col_weights
    margin = overlap // 2 * scale
    assert np.all(cols[:margin] == 0) and np.all(cols[-margin:] == 0)
    assert cols.max() == 1.0


def test_overlap_larger_than_half_a_tile_is_refused():
    with pytest.raises(ValueError, match="at most half"):
        list(plan_tiles(64, 64, 16, 9, 2))


@pytest.mark.parametrize("bad", [(0, 4, 0), (10, 0, 0), (10, 4, -1)])
def test_split_axis_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        split_axis(*bad)


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"), [(157, 40, 9, 2), (203, 64, 13, 4)]
)
def test_windows_start_on_the_size_multiple_and_still_blend_to_one(length, tile, overlap, multiple):
    spans = split_axis(length, tile, overlap, multiple)
    assert all(s.read_start % multiple == 0 for s in spans)
    assert any(max(0, s.core_start - overlap) % multiple for s in spans)  # moved, not by luck
    for s in spans:
        assert s.read_start <= s.core_start - min(overlap, s.core_start)
    total = np.zeros(length * 2)
    for t in plan_tiles(1, length, tile, overlap, 2, multiple):
        total[t.cols.read_start * 2 : t.cols.read_stop * 2] += t.col_weights
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
