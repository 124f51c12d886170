"""Where and how wide a Ray run goes: the cluster's address and each actor's resources."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

LOCAL = "local"
_HOST_PORT = re.compile(r"[A-Za-z0-9_.\-]+:[0-9]{1,5}|\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}")


class ClusterError(ValueError):
    """A Ray run that cannot start, or that Ray itself aborted; the message is one line."""


def parse_address(text: str) -> str:
    """A Ray address as `--ray` takes it: local (a private cluster on this machine, the default),
    auto (the cluster this machine belongs to), HOST:PORT, or ray://HOST:PORT (Ray Client)."""
    if text in (LOCAL, "auto") or text.startswith("ray://") or _HOST_PORT.fullmatch(text):
        return text
    raise ValueError(
        f"--ray {text!r}: not a Ray address (local, auto, HOST:PORT or ray://HOST:PORT); "
        "write --ray=ADDRESS, or put the inputs before --ray"
    )


@dataclass(frozen=True)
class RaySettings:
    """address: see `parse_address`.
    actors: model copies working at once; None fits as many as the cluster's CPUs (or GPUs,
        when actors take GPUs) hold, at most one per file. A local cluster gets
        actors x cpus_per_actor CPUs, or all of this machine's when actors is None.
    cpus_per_actor: CPUs each actor reserves; its PyTorch uses as many threads.
    gpus_per_actor: GPUs each actor reserves (fractions share one GPU).
    """

    address: str = LOCAL
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0

    def __post_init__(self) -> None:
        parse_address(self.address)
        if self.actors is not None and self.actors < 1:
            raise ValueError(f"--ray-actors must be >= 1, got {self.actors}")
        if not (self.cpus_per_actor > 0 and math.isfinite(self.cpus_per_actor)):
            raise ValueError(f"--ray-cpus must be > 0, got {self.cpus_per_actor}")
        if not (self.gpus_per_actor >= 0 and math.isfinite(self.gpus_per_actor)):
            raise ValueError(f"--ray-gpus must be >= 0, got {self.gpus_per_actor}")

    @property
    def threads(self) -> int:
        """PyTorch threads in each actor: its whole CPUs, at least one."""
        return max(1, int(self.cpus_per_actor))

    def local_cpus(self) -> int:
        """CPUs of a private local cluster."""
        if self.actors is None:
            return os.cpu_count() or 1
        return math.ceil(self.actors * self.cpus_per_actor)

    def actor_count(self, cluster: dict[str, float], jobs: int) -> int:
        """Actors to start on a cluster with these resources (Ray's `cluster_resources()`);
        ClusterError when not even one fits (more than fit may wait for an autoscaler)."""
        cpus, gpus = cluster.get("CPU", 0.0), cluster.get("GPU", 0.0)
        fits = cpus / self.cpus_per_actor
        if self.gpus_per_actor:
            fits = min(fits, gpus / self.gpus_per_actor)
        if fits < 1:
            raise ClusterError(
                f"the Ray cluster ({cpus:g} CPUs, {gpus:g} GPUs) cannot hold one actor of "
                f"{self.cpus_per_actor:g} CPUs and {self.gpus_per_actor:g} GPUs"
            )
        wanted = int(fits) if self.actors is None else self.actors
        return max(1, min(wanted, jobs))
