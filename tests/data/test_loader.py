"""The training batch stream: determinism, resume, worker count, DDP slices, argument checks."""

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srlab.data import (
    DN,
    HRFolderSource,
    PairedFolderSource,
    RFSPlanner,
    UniformPlanner,
    make_train_loader,
    pic_edges,
)


def _images(folder: Path, shapes, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, shape in enumerate(shapes):
        pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return _images(tmp_path_factory.mktemp("hr"), [(40, 48), (36, 36), (52, 40), (44, 60)])


@pytest.fixture(scope="module")
def bi(folder) -> HRFolderSource:
    return HRFolderSource(folder, 2)


def _uniform(seed: int, source) -> UniformPlanner:
    return UniformPlanner(seed, 12)


def _rfs(seed: int, source) -> RFSPlanner:
    """RFS calibrated before the loader starts, as srlab train does."""
    return RFSPlanner(seed, 12, pic_edges(source, 12, seed=seed, samples=200))


EITHER_PLANNER = pytest.mark.parametrize("make_planner", [_uniform, _rfs], ids=["U", "RFS"])


def _take(loader, n: int) -> list[dict]:
    return list(itertools.islice(loader, n))


def _assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x["index"] == y["index"]
        assert torch.equal(x["lr"], y["lr"]) and torch.equal(x["hr"], y["hr"])


def test_batches_have_the_promised_layout(bi):
    batch = next(iter(make_train_loader(bi, UniformPlanner(0, 12), 6, start_batch=3)))
    assert batch["index"] == 3
    assert batch["lr"].shape == (6, 3, 12, 12) and batch["hr"].shape == (6, 3, 24, 24)
    assert batch["lr"].dtype == batch["hr"].dtype == torch.float32


@EITHER_PLANNER
def test_same_seed_same_stream_other_seed_other_stream(bi, make_planner):
    a = _take(make_train_loader(bi, make_planner(0, bi), 4), 3)
    _assert_same(a, _take(make_train_loader(bi, make_planner(0, bi), 4), 3))
    b = _take(make_train_loader(bi, make_planner(1, bi), 4), 3)
    assert not any(torch.equal(x["hr"], y["hr"]) for x, y in zip(a, b, strict=True))


@EITHER_PLANNER
def test_resuming_continues_the_stream_exactly(bi, make_planner):
    planner = make_planner(7, bi)
    straight = _take(make_train_loader(bi, planner, 4), 20)
    resumed = _take(make_train_loader(bi, planner, 4, start_batch=10), 10)
    _assert_same(straight[10:], resumed)


@EITHER_PLANNER
@pytest.mark.parametrize("random_lr", [False, True], ids=["BI", "DN"])
def test_worker_processes_change_nothing(folder, bi, random_lr, make_planner):
    source = HRFolderSource(folder, 2, DN(2)) if random_lr else bi
    planner = make_planner(2, source)
    alone = _take(make_train_loader(source, planner, 4, start_batch=5), 6)
    loader = make_train_loader(source, planner, 4, start_batch=5, num_workers=2)
    _assert_same(alone, _take(loader, 6))


@EITHER_PLANNER
def test_ranks_split_the_global_batch(folder, make_planner):
    source = HRFolderSource(folder, 2, DN(2))  # random LR: seeds travel with the requests
    planner = make_planner(4, source)
    whole = _take(make_train_loader(source, planner, 6, start_batch=2), 3)
    parts = [
        _take(make_train_loader(source, planner, 6, start_batch=2, rank=r, world_size=2), 3)
        for r in range(2)
    ]
    for full, first, second in zip(whole, *parts, strict=True):
        assert first["lr"].shape[0] == second["lr"].shape[0] == 3
        for key in ("lr", "hr"):
            assert torch.equal(torch.cat([first[key], second[key]]), full[key])


def test_paired_folders_stream_aligned_turned_pairs(tmp_path):
    lr = _images(tmp_path / "lr", [(8, 10), (10, 8)])
    (tmp_path / "hr").mkdir()
    for path in lr.iterdir():  # HR = LR blocks: alignment survives any dihedral transform
        blocks = np.asarray(Image.open(path)).repeat(4, 0).repeat(4, 1)
        Image.fromarray(blocks).save(tmp_path / "hr" / path.name)
    source = PairedFolderSource(lr, tmp_path / "hr", 4)
    for batch in _take(make_train_loader(source, UniformPlanner(0, 6), 4), 5):
        upsampled = batch["lr"].repeat_interleave(4, -2).repeat_interleave(4, -1)
        assert torch.equal(batch["hr"], upsampled)


def test_arguments_are_checked(bi):
    planner = UniformPlanner(0, 12)
    with pytest.raises(ValueError, match="multiple of the number of processes 4"):
        make_train_loader(bi, planner, 6, world_size=4)
    with pytest.raises(ValueError, match="rank"):
        make_train_loader(bi, planner, 6, rank=2, world_size=2)
    with pytest.raises(ValueError, match="non-negative"):
        make_train_loader(bi, planner, 6, start_batch=-1)
    with pytest.raises(ValueError, match=r"patch size 19: 1\.png"):  # 36 x 36 HR -> 18 LR
        make_train_loader(bi, UniformPlanner(0, 19), 6)


def test_a_planner_that_miscounts_is_reported(bi):
    class Short(UniformPlanner):
        def plan(self, batch_index, batch_size, source):
            return super().plan(batch_index, batch_size - 1, source)

    with pytest.raises(RuntimeError, match="Short planned 3 samples for batch 0, not 4"):
        next(iter(make_train_loader(bi, Short(0, 12), 4)))
