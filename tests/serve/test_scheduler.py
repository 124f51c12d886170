"""The scheduler with a stand-in model: queues, superseding, joining, precomputing, limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from srlab.io import DecodedImage
from srlab.serve.cache import ResultCache, ResultKey
from srlab.serve.jobs import Job, JobState
from srlab.serve.noise_steps import W_STEPS
from srlab.serve.scheduler import Busy, Scheduler
from srlab.serve.settings import Limits
from srlab.serve.uploads import StoredUpload, UploadStore

TILES = 3


class GatedRunner:
    """Runs a job in TILES tiles, each waiting for the test to open the gate (background jobs
    also wait for their own gate); records the keys it ran."""

    gate = threading.Event()
    background_gate = threading.Event()
    started: ClassVar[list[ResultKey]] = []

    def __init__(self, model: str, uploads: UploadStore) -> None:
        self.model = model

    def run(self, job: Job) -> DecodedImage:
        GatedRunner.started.append(job.key)
        job.tiles_total = TILES
        for _ in range(TILES):
            assert GatedRunner.gate.wait(timeout=30), "gate never opened"
            if job.background:
                assert GatedRunner.background_gate.wait(timeout=30), "gate never opened"
            job.check_cancelled()
        return DecodedImage(rgb=np.full((2, 2, 3), job.key.noise, np.float32))


def upload(name: str = "a") -> StoredUpload:
    return StoredUpload(name, f"{name}.png", Path(f"{name}.png"), 1, 1, "PNG", 8, 3)


def key(image: str = "a", noise: float = 0.0, model: str = "gmgbp-r3") -> ResultKey:
    return ResultKey(image, model, 4, noise, 0)


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    GatedRunner.gate.clear()
    GatedRunner.background_gate.set()
    GatedRunner.started = []
    limits = Limits(max_waiting=3, run_slots=1)
    sched = Scheduler(UploadStore(Path("unused"), 100), ResultCache(1 << 20), limits, GatedRunner)
    yield sched
    GatedRunner.gate.set()
    GatedRunner.background_gate.set()
    sched.stop()


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_newer_page_request_cancels_the_running_and_queued_ones(scheduler: Scheduler) -> None:
    first = scheduler.submit(upload(), key(noise=0.1), supersedes=True)
    wait_for(lambda: first.state is JobState.RUNNING)
    second = scheduler.submit(upload(), key(noise=0.2), supersedes=True)
    third = scheduler.submit(upload(), key(noise=0.3), supersedes=True)
    assert second.state is JobState.CANCELLED  # was queued: dropped at once
    GatedRunner.gate.set()
    assert third.finished.wait(30) and third.state is JobState.DONE
    assert first.state is JobState.CANCELLED and first.tiles_done == 1  # stopped after a tile
    assert key(noise=0.1) not in scheduler.cache and key(noise=0.3) in scheduler.cache


def test_other_images_and_api_requests_are_not_superseded(scheduler: Scheduler) -> None:
    api = scheduler.submit(upload(), key(noise=0.1), hold=True)
    other = scheduler.submit(upload("b"), key("b"), supersedes=True)
    page = scheduler.submit(upload(), key(noise=0.5), supersedes=True)
    GatedRunner.gate.set()
    for job in (api, other, page):
        assert job.finished.wait(30) and job.state is JobState.DONE
    assert api.result is not None and api.result.image.rgb[0, 0, 0] == np.float32(0.1)


def test_the_same_request_joins_the_job_computing_it(scheduler: Scheduler) -> None:
    first = scheduler.submit(upload(), key(noise=0.1))
    again = scheduler.submit(upload(), key(noise=0.1), supersedes=True)
    assert again is first
    GatedRunner.gate.set()
    assert first.finished.wait(30)
    assert GatedRunner.started == [key(noise=0.1)]
    cached = scheduler.submit(upload(), key(noise=0.1))
    assert cached.state is JobState.DONE and cached is not first


def test_api_callers_sharing_a_job_each_get_its_result(scheduler: Scheduler) -> None:
    first = scheduler.submit(upload(), key(noise=0.1), hold=True)
    second = scheduler.submit(upload(), key(noise=0.1), hold=True)
    assert second is first and first.holders == 2
    GatedRunner.gate.set()
    assert first.finished.wait(30) and first.result is not None
    scheduler.release(first)
    assert first.result is not None  # the second caller has not written its file yet
    scheduler.release(second)
    assert first.result is None and key(noise=0.1) in scheduler.cache


def test_queue_is_bounded_and_visible(scheduler: Scheduler) -> None:
    running = scheduler.submit(upload("r"), key("r"))
    wait_for(lambda: running.state is JobState.RUNNING)
    waiting = [scheduler.submit(upload(n), key(n)) for n in "xyz"]
    with pytest.raises(Busy, match="3 jobs are waiting"):
        scheduler.submit(upload("w"), key("w"))
    assert [scheduler.position(job) for job in waiting] == [0, 1, 2]
    (row,) = scheduler.snapshot()
    assert row["running"]["image"] == "r" and [w["image"] for w in row["waiting"]] == list("xyz")
    GatedRunner.gate.set()
    for job in waiting:
        assert job.finished.wait(30) and job.state is JobState.DONE


def test_w_steps_around_a_slider_request_are_precomputed_when_idle(
    scheduler: Scheduler,
) -> None:
    GatedRunner.gate.set()
    step = 5
    job = scheduler.submit(upload(), key(noise=W_STEPS[step]), supersedes=True, w_slider=True)
    assert job.finished.wait(30)
    around = [key(noise=W_STEPS[i]) for i in (step - 2, step - 1, step + 1, step + 2)]
    wait_for(lambda: all(k in scheduler.cache for k in around) and not scheduler.snapshot())
    assert GatedRunner.started[0] == key(noise=W_STEPS[step])
    assert set(GatedRunner.started[1:]) == set(around)


def test_a_request_drops_precomputation_and_takes_over_its_own_step(
    scheduler: Scheduler,
) -> None:
    GatedRunner.gate.set()
    GatedRunner.background_gate.clear()  # the first precomputation hangs on its first tile
    job = scheduler.submit(upload(), key(noise=W_STEPS[5]), supersedes=True, w_slider=True)
    assert job.finished.wait(30)
    wait_for(lambda: len(GatedRunner.started) == 2)
    precomputing = GatedRunner.started[1]
    wanted = scheduler.submit(upload(), precomputing, supersedes=True, w_slider=True)
    assert not wanted.background and wanted.state is JobState.RUNNING  # joined, not restarted
    (row,) = scheduler.snapshot()
    assert row["precompute_waiting"] == 0  # the other steps were dropped
    GatedRunner.background_gate.set()
    assert wanted.finished.wait(30) and wanted.state is JobState.DONE
    assert GatedRunner.started.count(precomputing) == 1


def test_failures_become_one_line_messages_and_the_worker_lives_on(
    scheduler: Scheduler,
) -> None:
    GatedRunner.gate.set()
    original = GatedRunner.run

    def broken(self, job: Job) -> DecodedImage:
        if job.key.image == "bad":
            raise ValueError("tile overlap (9) must be\nat most half the tile size (16)")
        return original(self, job)

    GatedRunner.run = broken
    try:
        bad = scheduler.submit(upload("bad"), key("bad"))
        good = scheduler.submit(upload("good"), key("good"))
        assert bad.finished.wait(30) and good.finished.wait(30)
    finally:
        GatedRunner.run = original
    assert bad.state is JobState.FAILED
    assert bad.error == "tile overlap (9) must be at most half the tile size (16)"
    assert good.state is JobState.DONE


def test_cache_keeps_its_budget_but_always_the_newest() -> None:
    cache = ResultCache(budget=100)
    image = DecodedImage(rgb=np.zeros((2, 3, 3), np.float32))  # 72 bytes
    cache.put(key(noise=0.1), image)
    cache.put(key(noise=0.2), image)
    assert key(noise=0.1) not in cache and key(noise=0.2) in cache
    big = DecodedImage(rgb=np.zeros((10, 10, 3), np.float32))  # 1200 bytes, over budget
    cache.put(key(noise=0.3), big)
    assert key(noise=0.3) in cache and cache.used_bytes() == 1200
