"""Shared fixtures: the location of ../shared (read-only project data)."""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder; its absence is an error, never a skip."""
    if not (SHARED / "data").is_dir():
        raise FileNotFoundError(f"expected the project's shared data at {SHARED}")
    return SHARED


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, share the cores between workers: torch's default of one thread per
    core in every worker oversubscribes the CPU, and OpenMP's spinning threads then slow
    convolution-heavy tests down tenfold."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
