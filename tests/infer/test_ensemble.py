"""The eight dihedral transforms are undone exactly and the ensemble averages them."""

import torch

from srlab.infer.ensemble import DIHEDRAL, apply, self_ensemble, undo


def test_eight_distinct_transforms_each_undone_exactly():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    views = {tuple(apply(x, t).flatten().tolist()) for t in DIHEDRAL}
    assert len(DIHEDRAL) == 8 and len(views) == 8
    for t in DIHEDRAL:
        assert torch.equal(undo(apply(x, t), t), x)


def test_equivariant_model_is_unchanged_by_the_ensemble():
    x = torch.rand(1, 3, 6, 7)
    y = self_ensemble(lambda v: v * 2.0, x)
    torch.testing.assert_close(y, x * 2.0)


def test_non_equivariant_model_is_averaged_over_views():
    x = torch.zeros(1, 1, 2, 2)
    marker = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # adds 1 at the top-left of each view
    y = self_ensemble(lambda v: v + marker, x)
    # Each corner is the top-left corner in two of the eight views.
    torch.testing.assert_close(y[0, 0], torch.full((2, 2), 0.25))
