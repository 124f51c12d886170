"""Finished results in memory, least recently used first out, within a byte budget.

Keyed by everything that changes the picture: the image (its hash), model, scale, noise
amplitude W, seed and self-ensemble. The page's 8-bit PNG preview of a result is kept with
it once made; the file in the input's format is written to disk only on download.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from srlab.io import DecodedImage


@dataclass(frozen=True)
class ResultKey:
    image: str
    model: str
    scale: int
    noise: float
    seed: int
    ensemble: bool = False


@dataclass
class CachedResult:
    image: DecodedImage
    preview: bytes | None = None
    written: Path | None = None  # the downloadable file, once written
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def nbytes(self) -> int:
        size = self.image.rgb.nbytes + len(self.preview or b"")
        return size + (0 if self.image.alpha is None else self.image.alpha.nbytes)


class ResultCache:
    """Thread-safe LRU map from ResultKey to CachedResult holding at most `budget` bytes,
    except that the newest entry is always kept (a result larger than the budget stays until
    the next one arrives)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._entries: OrderedDict[ResultKey, CachedResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: ResultKey) -> CachedResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def __contains__(self, key: ResultKey) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: ResultKey, image: DecodedImage) -> CachedResult:
        entry = CachedResult(image)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
        return entry

    def resized(self) -> None:
        """Re-apply the budget after an entry grew (its preview was made)."""
        with self._lock:
            self._evict()

    def used_bytes(self) -> int:
        with self._lock:
            return sum(entry.nbytes for entry in self._entries.values())

    def _evict(self) -> None:
        total = sum(entry.nbytes for entry in self._entries.values())
        while total > self.budget and len(self._entries) > 1:
            _key, entry = self._entries.popitem(last=False)
            total -= entry.nbytes
