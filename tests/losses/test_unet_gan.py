"""U-Net discriminator losses at hand-computable logits: the hinge with constant and per-pixel
targets, the two-head hinge (D summed, G averaged), CutMix boxes and the consistency loss, and
gradient checks."""

import math

import pytest
import torch
from torch.autograd import gradcheck

from srlab.losses.unet_gan import (
    CutMixBox,
    CutMixConsistencyLoss,
    UNetHingeLoss,
    hinge,
    random_box,
)


def t(*values: float, grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).view(1, 1, 1, -1).requires_grad_(grad)


def test_hinge_hand_values():
    logits = t(2.0, 0.5, -0.25)
    # real: relu(1 - C) = [0, 0.5, 1.25]; fake: relu(1 + C) = [3, 1.5, 0.75]
    assert hinge(logits, 1).item() == pytest.approx(1.75 / 3)
    assert hinge(logits, 0).item() == pytest.approx(5.25 / 3)
    # per-pixel targets [real, fake, real]: [0, 1.5, 1.25]
    assert hinge(logits, t(1.0, 0.0, 1.0)).item() == pytest.approx(2.75 / 3)
    # a boolean map is the same target
    assert hinge(logits, torch.tensor([True, False, True]).view(1, 1, 1, 3)).item() == (
        pytest.approx(2.75 / 3)
    )


def test_constant_targets_are_real_or_fake():
    with pytest.raises(ValueError, match="1 \\(real\\) or 0 \\(fake\\)"):
        hinge(t(0.0), 0.5)


def test_two_head_hinge_sums_for_d_and_averages_for_g():
    loss = UNetHingeLoss()
    real_global, real_pixel = t(2.0, -1.0), t(0.5, 0.5, 3.0, 0.0)
    fake_global, fake_pixel = t(-2.0, 1.0), t(0.0, -0.5, 1.0, -3.0)
    # real heads: mean [0, 2] = 1; mean [0.5, 0.5, 0, 1] = 0.5
    # fake heads: mean [0, 2] = 1; mean [1, 0.5, 2, 0] = 0.875
    d = loss.discriminator(real_global, real_pixel, fake_global, fake_pixel)
    assert d.item() == pytest.approx(1 + 0.5 + 1 + 0.875)
    # G: relu(1 - C) on the fake heads: mean [3, 0] = 1.5; mean [1, 1.5, 0, 4] = 1.625
    assert loss.generator(fake_global, fake_pixel).item() == pytest.approx((1.5 + 1.625) / 2)
    assert loss(fake_global, fake_pixel).item() == pytest.approx((1.5 + 1.625) / 2)


def test_a_per_pixel_target_changes_only_the_decoder_fake_term():
    loss = UNetHingeLoss()
    real_global, real_pixel = t(2.0), t(1.0, 1.0)
    fake_global, fake_pixel = t(-2.0), t(0.5, 0.5)
    everywhere_fake = loss.discriminator(real_global, real_pixel, fake_global, fake_pixel)
    # fake pixel 0 shows real data: relu(1 - 0.5) = 0.5 instead of relu(1 + 0.5) = 1.5
    masked = loss.discriminator(real_global, real_pixel, fake_global, fake_pixel, t(1.0, 0.0))
    assert everywhere_fake.item() == pytest.approx(1.5)
    assert masked.item() == pytest.approx(1.0)


def test_hinge_gradcheck():
    torch.manual_seed(0)
    logits = (torch.randn(2, 1, 3, 3, dtype=torch.float64) * 2).requires_grad_()
    target = (torch.rand(1, 1, 3, 3) > 0.5).double()
    assert gradcheck(lambda c: hinge(c, target), (logits,))
    loss = UNetHingeLoss()
    heads = [(torch.randn(2, 1, 2, 2, dtype=torch.float64) * 2).requires_grad_() for _ in range(4)]
    assert gradcheck(lambda *h: loss.discriminator(*h, target.expand(2, 1, 3, 3)[..., :2, :2]),
                     tuple(heads))
    assert gradcheck(loss.generator, tuple(heads[:2]))


def test_consistency_hand_value():
    mixed = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    fake, real = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    # target [1, 0, 0, 1]: squared errors [0, 4, 9, 9]
    assert CutMixConsistencyLoss()(mixed, fake, real, mask).item() == pytest.approx(22 / 4)


def test_consistency_gradcheck_reaches_all_three_verdicts():
    torch.manual_seed(1)
    maps = [torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    mask = CutMixBox(1, 0, 3, 2).mask(maps[0])
    loss = CutMixConsistencyLoss()
    assert gradcheck(lambda m, f, r: loss(m, f, r, mask), tuple(maps))
    loss(*maps, mask).backward()
    assert all(m.grad.abs().sum() > 0 for m in maps)  # nothing detached


def test_consistency_refuses_mismatched_maps():
    with pytest.raises(ValueError, match="shapes differ"):
        CutMixConsistencyLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4),
                                torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 4, 4))


def test_paste_and_mask_agree_and_pass_gradients_to_both():
    into = torch.rand(2, 3, 5, 6, requires_grad=True)
    source = torch.rand(2, 3, 5, 6, requires_grad=True)
    box = CutMixBox(top=1, left=2, bottom=4, right=6)
    mixed = box.paste(into, source)
    mask = box.mask(into)
    assert mask.shape == (1, 1, 5, 6) and mask.sum().item() == 3 * 4
    assert torch.equal(mixed, torch.where(mask.bool(), source, into))
    assert torch.equal(mixed[..., 1:4, 2:6], source[..., 1:4, 2:6])
    mixed.sum().backward()
    assert into.grad.sum().item() == 2 * 3 * (30 - 12)
    assert source.grad.sum().item() == 2 * 3 * 12
    assert torch.equal(box.paste(into, source), mixed)  # the inputs were not modified


def test_random_box_follows_the_formula():
    """r ~ U(0, 1), sides floor(H sqrt(1 - r)), centre uniform, half-sides floored, clipped."""
    height, width = 48, 40
    for seed in range(20):
        box = random_box(height, width, torch.Generator().manual_seed(seed))
        draws = torch.Generator().manual_seed(seed)
        r = torch.rand((), generator=draws).item()
        cy = int(torch.randint(height, (), generator=draws))
        cx = int(torch.randint(width, (), generator=draws))
        half_h = math.floor(height * math.sqrt(1 - r)) // 2
        half_w = math.floor(width * math.sqrt(1 - r)) // 2
        assert box == CutMixBox(
            max(cy - half_h, 0), max(cx - half_w, 0),
            min(cy + half_h, height), min(cx + half_w, width),
        ), seed


def test_random_boxes_stay_inside_and_cover_half_the_image_before_clipping():
    g = torch.Generator().manual_seed(3)
    boxes = [random_box(64, 64, g) for _ in range(2000)]
    assert all(0 <= b.top <= b.bottom <= 64 and 0 <= b.left <= b.right <= 64 for b in boxes)
    clipped = [b for b in boxes if b.top == 0 or b.bottom == 64 or b.left == 0 or b.right == 64]
    assert 0 < len(clipped) < len(boxes)
    # unclipped boxes are square, with an area share of about 1 - r, whose mean is 1/2 (boxes
    # near a border are clipped more often when large, so the unclipped ones lean small)
    inner = [b for b in boxes if b not in clipped]
    assert all(b.bottom - b.top == b.right - b.left for b in inner)
    shares = [(b.bottom - b.top) * (b.right - b.left) / 64**2 for b in boxes]
    assert 0.25 < sum(shares) / len(shares) < 0.5
