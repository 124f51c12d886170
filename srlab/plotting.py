"""Figures for reports (sweeps, training records): headless matplotlib, written atomically."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from srlab.io import atomic_write


def pyplot() -> ModuleType:
    """matplotlib's pyplot on the file-only Agg backend (no display needed), imported late
    since only the report commands draw."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, *, overwrite: bool, dpi: int = 120) -> Path:
    """Write `fig` as an image at `path` (complete or absent) and release it."""
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi), overwrite=overwrite)
    finally:
        pyplot().close(fig)
