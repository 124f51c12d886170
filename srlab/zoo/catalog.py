"""The models srlab ships, by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ZooEntry:
    """A shipped model: its architecture, build options, weights file (inside
    `srlab/zoo/weights/`, None for weightless models), licence and provenance."""

    arch: str
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    license: str = "MIT (srlab)"
    source: str = "srlab"


CATALOG: MappingProxyType[str, ZooEntry] = MappingProxyType(
    {
        "bicubic": ZooEntry(
            arch="bicubic",
            description="MATLAB-compatible bicubic interpolation; any integer scale",
        ),
    }
)

# The classical interpolator stands in until a trained network is shipped (see README).
DEFAULT_MODEL = "bicubic"
DEFAULT_SCALE = 4
