"""What a server may accept and where it writes: its limits and its output folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one server's memory and queue finite, whatever clients send.

    max_upload_bytes: largest request body (the uploaded file and its form fields).
    max_pixels: largest input image, width x height, checked from its header before decoding.
    max_output_pixels: largest result, so a scale cannot turn an accepted input into an
        unbounded allocation (the float32 result holds 12 bytes per RGB pixel).
    max_waiting: jobs waiting for a model at once (all models); more get 503 "busy".
    max_uploads: uploads being received or decoded at once; more get 503 "busy".
    cache_bytes: memory for cached results (least recently used go first; the newest stays).
    run_slots: model runs at the same time across all models (each holds a full result).
    """

    max_upload_bytes: int = 32 * MIB
    max_pixels: int = 16_000_000
    max_output_pixels: int = 64_000_000
    max_waiting: int = 16
    max_uploads: int = 4
    cache_bytes: int = 1024 * MIB
    run_slots: int = 2

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise ValueError(f"limit {name} must be at least 1, got {value}")


@dataclass(frozen=True)
class ServeSettings:
    """out: the only folder the server writes to (uploads and results below it)."""

    out: Path
    limits: Limits = field(default_factory=Limits)

    @property
    def uploads(self) -> Path:
        return self.out / "uploads"

    @property
    def results(self) -> Path:
        return self.out / "results"
