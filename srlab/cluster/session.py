"""Join a Ray cluster, or start a private one on this machine, quietly and for one run."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from types import ModuleType

from srlab.cluster.settings import LOCAL, ClusterError, RaySettings

INSTALL_HINT = "--ray needs Ray Data: pip install 'srlab[cluster]'"


def import_ray() -> ModuleType:
    """Ray with Ray Data, or ClusterError saying how to install them."""
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ClusterError(f"{INSTALL_HINT} ({err})") from None
    return ray


@contextlib.contextmanager
def ray_session(settings: RaySettings) -> Iterator[ModuleType]:
    """Ray, connected for the duration of the block.

    A Ray already initialised by the caller (a notebook, a test) is used as it is and left
    running. Otherwise the block starts a private cluster on this machine (address "local":
    `settings.local_cpus()` CPUs, no dashboard, no usage statistics) or joins the cluster at
    the address, and shuts its connection (and a private cluster) down on the way out.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if settings.address == LOCAL:
            ray.init(
                address=LOCAL, num_cpus=settings.local_cpus(), include_dashboard=False, **quiet
            )
        else:
            ray.init(address=settings.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise ClusterError(f"--ray {settings.address}: cannot start or join Ray: {first_line(err)}"
                           ) from None
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    try:
        yield ray
    finally:
        ray.shutdown()


def first_line(err: BaseException) -> str:
    """An exception's first non-empty line, or its type when it says nothing."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
