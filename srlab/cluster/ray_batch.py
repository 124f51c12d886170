"""`srlab upscale --ray`: the batch's jobs as a Ray dataset, upscaled by actors that each hold a
loaded model.

Only jobs (file paths) travel through Ray. Each actor reads and writes the images itself with
`srlab.io` through `srlab.infer.batch.run_batch`, the code the single-process command runs, so
outputs are byte for byte the same: bit depth, alpha, ICC and EXIF kept, atomic writes, existing
outputs skipped (never replaced unless asked), one line per failed file. Ray's own image reader,
which drops 16-bit colour and metadata, is never used. Paths are made absolute on the driver:
on a cluster of several machines they must name the same files everywhere (a shared file
system mounted at the same place).
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srlab.cluster.session import first_line, ray_session
from srlab.cluster.settings import ClusterError, RaySettings
from srlab.infer.batch import BatchReport, Job, run_batch

MAX_BLOCKS = 10_000  # one job per block (finest balance) up to this many blocks
LINE_BREAK = "\0"  # between an actor's report lines; no file name holds it


class UpscaleActor:
    """One Ray Data actor: the driver's upscaler (its model included), received once, then
    `run_batch` on one job at a time.

    Returns, per job, its index in the driver's list, its outcome (written, skipped or
    failed), the failure message and the lines `run_batch` reported. Errors stay with the
    files: one that `run_batch` does not expect from a bad file fails that file only, so one
    odd file cannot end a run over a million.
    """

    def __init__(self, upscaler: Any, batch_options: Mapping[str, Any], threads: int) -> None:
        torch.set_num_threads(threads)
        self.upscaler = upscaler
        self.batch_options = dict(batch_options)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows: dict[str, list] = {"index": [], "outcome": [], "message": [], "lines": []}
        for index, pickled in zip(batch["index"], batch["job"], strict=True):
            done, lines = self._run(pickle.loads(pickled))
            rows["index"].append(int(index))
            rows["outcome"].append(
                "written" if done.written else "skipped" if done.skipped else "failed"
            )
            rows["message"].append(done.failed[0][1] if done.failed else "")
            rows["lines"].append(LINE_BREAK.join(lines))
        return rows

    def _run(self, job: Job) -> tuple[BatchReport, list[str]]:
        lines: list[str] = []
        try:
            return run_batch([job], self.upscaler, report=lines.append, **self.batch_options), lines
        except Exception as err:
            message = f"{job.source}: {type(err).__name__}: {first_line(err)}"
            lines.append(f"error: {message}")
            return BatchReport(failed=[(job.source, message)]), lines


def absolute(job: Job) -> Job:
    """The job with every path absolute (relative to this process's working folder)."""
    paths = {
        field.name: value.absolute()
        for field in dataclasses.fields(job)
        if isinstance(value := getattr(job, field.name), Path)
    }
    return dataclasses.replace(job, **paths)


def run_batch_on_ray(
    jobs: Sequence[Job],
    upscaler: Any,
    *,
    settings: RaySettings,
    batch_options: Mapping[str, Any] | None = None,
    report: Callable[[str], None] = print,
    on_done: Callable[[Job], None] | None = None,
) -> BatchReport:
    """`run_batch` on Ray: ``upscaler`` (what `run_batch` takes; its model travels with it,
    so model files need not be on every node) is sent once to each actor, which runs
    `run_batch` with ``batch_options`` (its keywords: overwrite, max_pixels, ...) job by job.
    Its device is the actors' too: a CUDA upscaler needs GPU actors (`settings`).

    Lines are reported and ``on_done`` called in the jobs' order as results stream back; the
    report lists written and skipped outputs and failed inputs like `run_batch`'s. Raises
    ClusterError (one line) when Ray cannot start or aborts the run.
    """
    result = BatchReport()
    if not jobs:
        return result
    with ray_session(settings) as ray:
        actors = settings.actor_count(ray.cluster_resources(), len(jobs))
        rows = [{"index": i, "job": pickle.dumps(absolute(job))} for i, job in enumerate(jobs)]
        files = ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
        files.context.execution_options.preserve_order = True
        files.context.enable_progress_bars = False
        upscaled = files.map_batches(
            UpscaleActor,
            fn_constructor_kwargs={
                "upscaler": upscaler,
                "batch_options": dict(batch_options or {}),
                "threads": settings.threads,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=settings.cpus_per_actor,
            num_gpus=settings.gpus_per_actor,
        )
        try:
            for row in upscaled.iter_rows():
                job = jobs[row["index"]]
                for line in filter(None, row["lines"].split(LINE_BREAK)):
                    report(line)
                if row["outcome"] == "written":
                    result.written.append(job.target)
                elif row["outcome"] == "skipped":
                    result.skipped.append(job.target)
                else:
                    result.failed.append((job.source, row["message"]))
                if on_done is not None:
                    on_done(job)
        except ray.exceptions.RayError as err:
            cause = getattr(err, "cause", None) or err
            raise ClusterError(f"Ray run aborted: {first_line(cause)}") from None
    return result
