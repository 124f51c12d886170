"""Turning results into bytes for the page and files for download.

The page shows 8-bit PNG previews (browsers show neither TIFF nor 16-bit colour reliably).
The download is the file `srlab upscale` would write: srlab.io's writer, the input's format,
bit depth, alpha and metadata, written atomically under `out/results/` with a fresh name,
never replacing anything.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from srlab.io import DecodedImage, OutputExistsError, to_array, write_image
from srlab.serve.cache import CachedResult, ResultKey
from srlab.serve.names import free_path, safe_stem, suffix_for_format
from srlab.serve.settings import ServeSettings
from srlab.serve.uploads import StoredUpload

_WRITE_ATTEMPTS = 20


def preview_png(image: DecodedImage) -> bytes:
    """An 8-bit PNG of the pixels (gray stays gray, alpha kept), quickly compressed."""
    buffer = io.BytesIO()
    Image.fromarray(to_array(image, np.uint8)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def cached_preview(entry: CachedResult) -> bytes:
    """The result's preview, made once."""
    with entry.lock:
        if entry.preview is None:
            entry.preview = preview_png(entry.image)
        return entry.preview


def result_stem(upload: StoredUpload, key: ResultKey) -> str:
    """`photo-gmgbp-r3-x4-w0.01-seed0`: the settings that made the picture, in its name."""
    stem = f"{safe_stem(upload.name)}-{key.model}-x{key.scale}"
    if key.noise:
        stem += f"-w{key.noise:g}-seed{key.seed}"
    return stem + ("-ensemble" if key.ensemble else "")


def written_result(
    entry: CachedResult, upload: StoredUpload, key: ResultKey, settings: ServeSettings
) -> Path:
    """The result's file under out/results, written on the first call.

    Raises srlab.io's ImageWriteError (one line) when it cannot be written, e.g. a full disk.
    """
    with entry.lock:
        if entry.written is None or not entry.written.exists():
            entry.written = _write_new(entry.image, upload, key, settings)
        return entry.written


def _write_new(
    image: DecodedImage, upload: StoredUpload, key: ResultKey, settings: ServeSettings
) -> Path:
    stem, suffix = result_stem(upload, key), suffix_for_format(image.format)
    for _ in range(_WRITE_ATTEMPTS):
        target = free_path(settings.results, stem, suffix)
        try:
            return write_image(target, image)
        except OutputExistsError:
            continue  # taken between the check and the write: pick the next free name
    raise OutputExistsError(target, "no free file name found")
