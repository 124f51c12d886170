"""Shared fixtures: the location of ../shared (read-only project data)."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder; its absence is an error, never a skip."""
    if not (SHARED / "data").is_dir():
        raise FileNotFoundError(f"expected the project's shared data at {SHARED}")
    return SHARED
