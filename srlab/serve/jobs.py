"""A unit of model work and its life: queued, running (tile by tile), then done, failed or
cancelled."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from srlab.serve.cache import CachedResult, ResultKey
from srlab.serve.uploads import StoredUpload


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class JobCancelled(Exception):
    """Raised from the upscaler's per-tile callback to stop a superseded job."""


@dataclass(eq=False)
class Job:
    """One image through one model at one setting.

    background: precomputation of a neighbouring W step, run only when nothing else waits and
        dropped as soon as a request comes.
    supersedes: a page request; a newer page request for the same image cancels it.
    w_slider: the page's W slider moves this job's amplitude, so the steps around it are
        worth precomputing once it is done.
    holders: synchronous API calls waiting for the result: it is kept in `result` until the
        last of them has written its file, so the cache cannot evict it in between (page jobs
        find their result in the cache).
    """

    key: ResultKey
    upload: StoredUpload
    background: bool = False
    supersedes: bool = False
    w_slider: bool = False
    holders: int = 0
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    state: JobState = JobState.QUEUED
    tiles_done: int = 0
    tiles_total: int = 0
    error: str | None = None
    result: CachedResult | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED

    def check_cancelled(self) -> None:
        """The per-tile callback: count the tile, stop if a newer request superseded us."""
        self.tiles_done += 1
        if self.cancel_requested.is_set():
            raise JobCancelled

    def finish(self, state: JobState, error: str | None = None) -> None:
        self.state = state
        self.error = error
        self.finished.set()

    def as_json(self, position: int | None = None) -> dict:
        """What the page polls: state, tiles, queue position and the error, if any."""
        return {
            "id": self.id,
            "image": self.upload.id,
            "name": self.upload.name,
            "model": self.key.model,
            "scale": self.key.scale,
            "noise": self.key.noise,
            "seed": self.key.seed,
            "ensemble": self.key.ensemble,
            "state": self.state.value,
            "background": self.background,
            "tiles_done": self.tiles_done,
            "tiles_total": self.tiles_total,
            "position": position,
            "error": self.error,
            "width": self.upload.width * self.key.scale,
            "height": self.upload.height * self.key.scale,
        }
