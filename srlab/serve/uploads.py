"""Uploaded images: kept as files under the output folder, decoded by srlab.io like the CLI's.

An upload is identified by the SHA-256 of its bytes (the same photo sent twice is one
upload, and its cached results are found again). Its file is written once, atomically,
under `out/uploads/` with a sanitised name; decoding goes through `read_image`, so corrupt,
truncated, empty, multi-frame, forged and oversized files are refused exactly as by
`srlab upscale`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from srlab.io import (
    SUPPORTED_SUFFIXES,
    DecodedImage,
    ImageReadError,
    OutputExistsError,
    atomic_write,
    probe_image,
    read_image,
)
from srlab.serve.names import safe_stem

_DECODED_KEPT = 4  # decoded inputs kept in memory (the ones being worked on)


@dataclass(frozen=True)
class StoredUpload:
    """An accepted upload: its id (hash prefix), the client's name as a label, its file and
    what the page needs to know about it."""

    id: str
    name: str
    path: Path
    width: int
    height: int
    format: str | None
    bit_depth: int
    channels: int

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "bit_depth": self.bit_depth,
            "channels": self.channels,
        }


class UploadError(ValueError):
    """An upload that is not a usable image; one line naming the client's file."""


class UploadStore:
    """Uploads by id, with the few most recently used ones decoded in memory."""

    def __init__(self, folder: Path, max_pixels: int) -> None:
        self.folder = folder
        self.max_pixels = max_pixels
        self._uploads: dict[str, StoredUpload] = {}
        self._decoded: OrderedDict[str, DecodedImage] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, client_name: str, data: bytes) -> StoredUpload:
        """Store and decode an uploaded file (blocking: call it off the event loop)."""
        label = _label(client_name)
        digest = hashlib.sha256(data).hexdigest()
        upload_id = digest[:16]
        with self._lock:
            known = self._uploads.get(upload_id)
        if known is not None:
            return known
        suffix = Path(label).suffix.lower()
        suffix = suffix if suffix in SUPPORTED_SUFFIXES else ".upload"  # read by content anyway
        path = self.folder / f"{safe_stem(client_name)}-{upload_id}{suffix}"
        with contextlib.suppress(OutputExistsError):  # same bytes, from an earlier server
            atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=False)
        try:
            self._check_size(path, label)
            image = read_image(path, max_pixels=self.max_pixels)
        except (ImageReadError, UploadError) as err:
            path.unlink(missing_ok=True)
            if isinstance(err, UploadError):
                raise
            raise UploadError(f"cannot read {label}: {err.reason}") from err
        upload = StoredUpload(
            id=upload_id,
            name=label,
            path=path,
            width=image.width,
            height=image.height,
            format=image.format,
            bit_depth=image.bit_depth,
            channels=image.rgb.shape[2] + image.has_alpha,
        )
        with self._lock:
            self._uploads[upload_id] = upload
            self._remember(upload_id, image)
        return upload

    def _check_size(self, path: Path, label: str) -> None:
        """Refuse, from the header alone, an image over this server's pixel limit, saying
        which option raises it."""
        info = probe_image(path)
        if info.pixels > self.max_pixels:
            raise UploadError(
                f"cannot read {label}: image is {info.width} x {info.height} = "
                f"{info.pixels:,} pixels, more than the limit of {self.max_pixels:,} "
                "(srlab serve --max-pixels)"
            )

    def get(self, upload_id: str) -> StoredUpload | None:
        with self._lock:
            return self._uploads.get(upload_id)

    def decoded(self, upload: StoredUpload) -> DecodedImage:
        """The upload's pixels (decoded again if they left memory)."""
        with self._lock:
            image = self._decoded.get(upload.id)
            if image is not None:
                self._decoded.move_to_end(upload.id)
                return image
        try:
            image = read_image(upload.path, max_pixels=self.max_pixels)
        except ImageReadError as err:
            raise UploadError(f"cannot read {upload.name} again: {err.reason}") from err
        with self._lock:
            self._remember(upload.id, image)
        return image

    def _remember(self, upload_id: str, image: DecodedImage) -> None:
        self._decoded[upload_id] = image
        self._decoded.move_to_end(upload_id)
        while len(self._decoded) > _DECODED_KEPT:
            self._decoded.popitem(last=False)


def _label(client_name: str) -> str:
    """The client's file name for messages: its last component, printable, at most 80 chars."""
    name = client_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:80]
    return name or "the upload"
