"""Contextual loss on tiny hand-made feature sets and against an independent loop implementation."""

import math

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses import LOSSES, ContextualLoss, contextual_loss


def feature_map(vectors: list[list[float]]) -> torch.Tensor:
    """1 x C x 1 x N map from N vectors of C channels."""
    return torch.tensor(vectors, dtype=torch.float64).T.reshape(1, len(vectors[0]), 1, -1)


def loop_reference(x: torch.Tensor, y: torch.Tensor, h: float = 0.5, eps: float = 1e-5) -> float:
    """The contextual loss (Mechrez et al. 2018; docs/architectures.md §1.8) written with plain
    Python loops over one batch of maps."""
    total = 0.0
    for n in range(x.shape[0]):
        xs = [v.tolist() for v in x[n].flatten(1).T]
        ys = [v.tolist() for v in y[n].flatten(1).T]
        mu = [sum(col) / len(ys) for col in zip(*ys, strict=True)]

        def unit(v, mu=mu):
            c = [a - m for a, m in zip(v, mu, strict=True)]
            norm = math.sqrt(sum(a * a for a in c))
            return [a / norm for a in c]

        xs, ys = [unit(v) for v in xs], [unit(v) for v in ys]
        cx = []
        for xi in xs:
            d = [1 - sum(a * b for a, b in zip(xi, yj, strict=True)) for yj in ys]
            r = [dij / (min(d) + eps) for dij in d]
            w = [math.exp((1 - rij) / h) for rij in r]
            cx.append([wij / sum(w) for wij in w])
        score = sum(max(row[j] for row in cx) for j in range(len(ys))) / len(ys)
        total += -math.log(score)
    return total / x.shape[0]


def test_hand_computed_case():
    # Y = {(1, 0), (-1, 0)} has mean 0, so nothing moves when centring; all vectors are unit.
    # x1 = (1, 0): d = (0, 2) -> r = (0, 2e5) -> CX row (1, ~0)
    # x2 = (0, 1): d = (1, 1) -> r equal     -> CX row (1/2, 1/2)
    # CX = (max(1, 1/2) + max(0, 1/2)) / 2 = 3/4
    x = feature_map([[1, 0], [0, 1]])
    y = feature_map([[1, 0], [-1, 0]])
    assert contextual_loss(x, y).item() == pytest.approx(-math.log(0.75), rel=1e-12)


def test_common_offsets_are_removed_by_centring():
    # Shifting both sets by the same vector changes nothing (the target mean is subtracted).
    x = feature_map([[1, 0], [0, 1]])
    y = feature_map([[1, 0], [-1, 0]])
    shift = torch.tensor([3.0, -2.0], dtype=torch.float64).view(1, 2, 1, 1)
    assert contextual_loss(x + shift, y + shift).item() == pytest.approx(-math.log(0.75))


def test_identical_sets_give_zero_to_machine_precision():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 3, 3, generator=g, dtype=torch.float64)
    # d_ij for j != i is O(1), so the off-diagonal weights exp(-d_ij / (eps h)) underflow
    assert abs(contextual_loss(x, x.clone()).item()) < 1e-12


def test_band_width_matters_only_between_distinct_sets():
    x = feature_map([[1, 0], [0, 1], [1, 1]])
    y = feature_map([[1, 0], [-1, 0], [0, -1]])
    wide = contextual_loss(x, y, band_width=2.0).item()
    assert wide == pytest.approx(loop_reference(x, y, h=2.0), rel=1e-10)
    assert wide != pytest.approx(contextual_loss(x, y).item())


@pytest.mark.parametrize("shapes", [((2, 5, 3, 4), (2, 5, 3, 4)), ((1, 3, 2, 3), (1, 3, 4, 2))])
def test_matches_loop_reference(shapes):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(*shapes[0], generator=g, dtype=torch.float64)
    y = torch.randn(*shapes[1], generator=g, dtype=torch.float64)
    assert contextual_loss(x, y).item() == pytest.approx(loop_reference(x, y), rel=1e-10)


def test_positions_are_a_set():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 4, 3, 3, generator=g, dtype=torch.float64)
    y = torch.randn(1, 4, 3, 3, generator=g, dtype=torch.float64)
    shuffled = x.flatten(2)[..., torch.randperm(9, generator=g)].reshape(x.shape)
    torch.testing.assert_close(contextual_loss(shuffled, y), contextual_loss(x, y))


def test_batch_mean():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 4, 2, 3, generator=g, dtype=torch.float64)
    y = torch.randn(3, 4, 2, 3, generator=g, dtype=torch.float64)
    per_image = [contextual_loss(x[i : i + 1], y[i : i + 1]) for i in range(3)]
    torch.testing.assert_close(contextual_loss(x, y), torch.stack(per_image).mean())


def test_module_on_raw_tensors_without_subsampling():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 4, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randn(2, 4, 4, 4, generator=g, dtype=torch.float64)
    loss = LOSSES["contextual"](max_positions=16)  # exactly the map size: no subsampling
    assert loss.vgg is None
    torch.testing.assert_close(loss(x, y), contextual_loss(x, y))


def test_subsampling_is_deterministic_and_uses_the_generator():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 4, 5, 5, generator=g, dtype=torch.float64)
    y = torch.randn(2, 4, 6, 5, generator=g, dtype=torch.float64)
    first = ContextualLoss(max_positions=7, generator=123)(x, y)
    second = ContextualLoss(max_positions=7, generator=torch.Generator().manual_seed(123))(x, y)
    assert first.item() == second.item()
    draw = torch.Generator().manual_seed(123)
    pick_x = torch.randperm(25, generator=draw)[:7]
    pick_y = torch.randperm(30, generator=draw)[:7]
    expected = contextual_loss(x.flatten(2)[..., pick_x, None], y.flatten(2)[..., pick_y, None])
    torch.testing.assert_close(first, expected)
    assert ContextualLoss(max_positions=7, generator=124)(x, y).item() != first.item()


def test_successive_calls_draw_new_positions():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(1, 4, 5, 5, generator=g, dtype=torch.float64)
    y = torch.randn(1, 4, 5, 5, generator=g, dtype=torch.float64)
    loss = ContextualLoss(max_positions=6)
    assert loss(x, y).item() != loss(x, y).item()


def test_gradcheck_both_inputs():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 3, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(contextual_loss, (x, y))


def test_argument_checks():
    with pytest.raises(ValueError, match="equal N and C"):
        contextual_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match="max_positions"):
        ContextualLoss(max_positions=0)
    with pytest.raises(ValueError, match="band_width"):
        ContextualLoss(band_width=0.0)
