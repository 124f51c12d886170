"""Model work off the event loop: one worker thread and one queue per model.

Requests for a result already cached are answered at once; a request for a result already
being computed joins that job. A newer page request for an image cancels the page jobs still
queued or running for it (a running one stops after its current tile). When a model's queue
is empty, its worker precomputes the W steps around the last one asked for, so that moving
the page's slider finds them ready; any request drops that background work at once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace

from srlab.io import DecodedImage, ImageError
from srlab.serve.cache import ResultCache, ResultKey
from srlab.serve.jobs import Job, JobCancelled, JobState
from srlab.serve.noise_steps import W_STEPS, neighbour_steps, step_of
from srlab.serve.results import cached_preview
from srlab.serve.runner import ModelRunner
from srlab.serve.settings import Limits
from srlab.serve.uploads import StoredUpload, UploadError, UploadStore
from srlab.zoo import ModelLoadError

log = logging.getLogger("srlab.serve")
_FINISHED_KEPT = 256  # finished jobs the page can still poll
_PRECOMPUTE_BUDGET_SHARE = 8  # precompute only while a result is under 1/8 of the cache


class Busy(Exception):
    """Too many jobs are waiting; the client should retry later (HTTP 503)."""


class Scheduler:
    """Queues, workers and the job table; thread-safe, driven from the event loop."""

    def __init__(
        self,
        uploads: UploadStore,
        cache: ResultCache,
        limits: Limits,
        runner_factory: Callable[[str, UploadStore], ModelRunner] = ModelRunner,
    ) -> None:
        self.uploads = uploads
        self.cache = cache
        self.limits = limits
        self._runner_factory = runner_factory
        self._cond = threading.Condition()
        self._slots = threading.Semaphore(limits.run_slots)
        self._waiting: dict[str, deque[Job]] = {}
        self._background: dict[str, deque[Job]] = {}
        self._running: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._stopping = False

    # -- requests (event loop side) ------------------------------------------------------

    def submit(
        self,
        upload: StoredUpload,
        key: ResultKey,
        *,
        supersedes: bool = False,
        w_slider: bool = False,
        hold: bool = False,
    ) -> Job:
        """A job for `key`: finished at once if cached, the one computing it if any, else a new
        one in its model's queue. Raises Busy when `Limits.max_waiting` jobs already wait.
        The flags are those of Job."""
        with self._cond:
            if self._stopping:
                raise Busy("the server is shutting down")
            job = self._unfinished(key)
            if job is not None:
                self._promote(job)
            else:
                job = self._cached_or_new(upload, key, hold)
            job.supersedes = job.supersedes or supersedes
            job.w_slider = job.w_slider or w_slider
            job.holders += hold
            if supersedes:
                self._supersede(job)
            if not job.is_finished:
                self._drop_background()
            elif (entry := self.cache.get(key)) is not None:
                self._plan_precompute(job, entry.image)  # the slider may go on from here
            self._remember(job)
            self._cond.notify_all()
            return job

    def release(self, job: Job) -> None:
        """An API caller of `submit(hold=True)` is done with the result; the last one lets the
        cache alone decide how long it stays."""
        with self._cond:
            job.holders -= 1
            if job.holders <= 0:
                job.result = None

    def job(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """How many jobs wait before this one in its model's queue (None unless queued)."""
        with self._cond:
            queue = self._waiting.get(job.key.model, deque())
            return queue.index(job) if job in queue else None

    def snapshot(self) -> list[dict]:
        """Every model's running job, waiting jobs and precomputations, for the page."""
        with self._cond:
            models = sorted(set(self._waiting) | set(self._running) | set(self._background))
            rows = []
            for model in models:
                running = self._running.get(model)
                waiting = list(self._waiting.get(model, ()))
                background = len(self._background.get(model, ()))
                if running is None and not waiting and not background:
                    continue
                rows.append({
                    "model": model,
                    "running": None if running is None else running.as_json(),
                    "waiting": [job.as_json(i) for i, job in enumerate(waiting)],
                    "precompute_waiting": background,
                })
            return rows

    def stop(self) -> None:
        """Cancel everything and wait for the workers to end: a running job stops after its
        current tile (an interpreter exiting under a running network would abort)."""
        with self._cond:
            self._stopping = True
            for queue in (*self._waiting.values(), *self._background.values()):
                while queue:
                    queue.popleft().finish(JobState.CANCELLED, "the server stopped")
            for job in self._running.values():
                job.cancel_requested.set()
                log.warning("srlab serve: stopping after the current tile of %s", job.upload.name)
            self._cond.notify_all()
        for thread in list(self._threads.values()):
            thread.join()

    # -- bookkeeping (under the lock) ----------------------------------------------------

    def _unfinished(self, key: ResultKey) -> Job | None:
        candidates = [self._running.get(key.model)]
        candidates += self._waiting.get(key.model, ())
        candidates += self._background.get(key.model, ())
        return next(
            (j for j in candidates if j is not None and j.key == key and not j.is_finished), None
        )

    def _promote(self, job: Job) -> None:
        """A background job someone now asks for becomes a normal one (kept where it runs)."""
        if not job.background:
            return
        job.background = False
        queue = self._background.get(job.key.model, deque())
        if job in queue:
            queue.remove(job)
            self._waiting.setdefault(job.key.model, deque()).append(job)

    def _cached_or_new(self, upload: StoredUpload, key: ResultKey, hold: bool) -> Job:
        entry = self.cache.get(key)
        job = Job(key, upload)
        if entry is not None:
            job.result = entry if hold else None
            job.finish(JobState.DONE)
            return job
        waiting = sum(len(q) for q in self._waiting.values())
        if waiting >= self.limits.max_waiting:
            raise Busy(f"{waiting} jobs are waiting already; try again in a moment")
        self._enqueue(job)
        return job

    def _enqueue(self, job: Job) -> None:
        model = job.key.model
        queues = self._background if job.background else self._waiting
        queues.setdefault(model, deque()).append(job)
        if model not in self._threads:
            thread = threading.Thread(
                target=self._work, args=(model,), name=f"srlab-serve-{model}", daemon=True
            )
            self._threads[model] = thread
            thread.start()

    def _supersede(self, newer: Job) -> None:
        """Cancel the other page jobs for the same image, queued or running."""
        for queue in self._waiting.values():
            for job in [j for j in queue if self._superseded_by(j, newer)]:
                queue.remove(job)
                job.finish(JobState.CANCELLED, "superseded by a newer request")
        for job in self._running.values():
            if self._superseded_by(job, newer):
                job.cancel_requested.set()

    @staticmethod
    def _superseded_by(job: Job, newer: Job) -> bool:
        return (
            job is not newer
            and job.supersedes
            and not job.holders  # an API caller is waiting for it
            and not job.background
            and job.upload.id == newer.upload.id
        )

    def _drop_background(self) -> None:
        """A request came: precomputation waits until the queues are empty again."""
        for queue in self._background.values():
            while queue:
                queue.popleft().finish(JobState.CANCELLED, "precomputation dropped")
        for job in self._running.values():
            if job.background:
                job.cancel_requested.set()

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._jobs.move_to_end(job.id)
        finished = [j.id for j in self._jobs.values() if j.is_finished]
        for job_id in finished[: max(0, len(finished) - _FINISHED_KEPT)]:
            del self._jobs[job_id]

    def _busy_anywhere(self) -> bool:
        """Whether any requested (not background) job waits or runs, on any model."""
        requested = any(not job.background for job in self._running.values())
        return requested or any(self._waiting.values())

    def _next_job(self, model: str) -> Job | None:
        """Block until this model has a job to run; None when the server stops."""
        while not self._stopping:
            waiting = self._waiting.get(model)
            if waiting:
                return waiting.popleft()
            background = self._background.get(model)
            if background and not self._busy_anywhere():
                return background.popleft()
            self._cond.wait()
        return None

    # -- the worker thread -----------------------------------------------------------------

    def _work(self, model: str) -> None:
        runner = self._runner_factory(model, self.uploads)
        while True:
            with self._cond:
                job = self._next_job(model)
                if job is None:
                    return
                self._running[model] = job
                job.state = JobState.RUNNING
            with self._slots:
                state, error, image = self._run(runner, job)
            entry = None if image is None else self.cache.put(job.key, image)
            if entry is not None and not job.holders:
                cached_preview(entry)  # the page asks for it next: have it ready
                self.cache.resized()
            with self._cond:
                del self._running[model]
                if entry is not None:
                    job.result = entry if job.holders else None
                    self._plan_precompute(job, entry.image)
                job.finish(state, error)
                self._cond.notify_all()

    def _run(
        self, runner: ModelRunner, job: Job
    ) -> tuple[JobState, str | None, DecodedImage | None]:
        """Run a job, turning every failure into a state and a one-line message."""
        if job.cancel_requested.is_set():
            return JobState.CANCELLED, "superseded by a newer request", None
        try:
            return JobState.DONE, None, runner.run(job)
        except JobCancelled:
            return JobState.CANCELLED, "superseded by a newer request", None
        except (UploadError, ImageError, ModelLoadError, ValueError) as err:
            return JobState.FAILED, " ".join(str(err).split()), None
        except MemoryError:
            return JobState.FAILED, "not enough memory for this image at this scale", None
        except Exception as err:  # a worker must survive any job
            log.exception("job %s failed", job.id)
            return JobState.FAILED, f"{type(err).__name__}: {' '.join(str(err).split())}", None

    def _plan_precompute(self, job: Job, image: DecodedImage) -> None:
        """Queue the W steps next to a requested one, for when the model is idle again."""
        step = step_of(job.key.noise)
        if self._stopping or not job.w_slider or job.background or job.key.ensemble or step is None:
            return
        size = image.rgb.nbytes + (0 if image.alpha is None else image.alpha.nbytes)
        if size * _PRECOMPUTE_BUDGET_SHARE > self.cache.budget:
            return
        for index in neighbour_steps(step):
            key = replace(job.key, noise=W_STEPS[index])
            if key not in self.cache and self._unfinished(key) is None:
                self._enqueue(Job(key, job.upload, background=True))
