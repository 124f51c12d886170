"""Opening image files with Pillow safely: file checks, container checks, quiet errors.

Shared by probe_image and read_image. Nothing here decodes pixels: Pillow reads headers,
and the JPEG and PNG containers are checked for missing or forged image data first, so a
file that claims far more pixels than it holds is refused before anything large is
allocated.
"""

from __future__ import annotations

import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from srlab.io.errors import ImageError, ImageReadError
from srlab.io.jpeg_check import JpegDataError, check_jpeg, trimmed_for_decoding
from srlab.io.png_check import PngDataError, check_png

# Pillow plugins tried on open; anything else is refused before any decoding.
READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
_NOT_AN_IMAGE = "not a PNG, JPEG, WebP, TIFF or BMP image (or its header is corrupt)"

# Pillow refuses PNG ICC profiles over 1 MiB (PngImagePlugin.MAX_TEXT_CHUNK); real printer
# and camera profiles reach several MiB, so srlab allows this much while opening.
MAX_PNG_ICC_BYTES = 64 << 20
_png_limit_lock = threading.Lock()


def check_file(path: Path) -> None:
    """Fail early, with a clear reason, for missing, non-regular and empty files."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ImageReadError(path, describe_failure(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(path, "is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(path, "not a regular file")
    if info.st_size == 0:
        raise ImageReadError(path, "file is empty (0 bytes)")


def open_checked(
    path: Path, max_pixels: int | None = None, *, for_decoding: bool = True
) -> Image.Image:
    """The file opened by Pillow (nothing decoded yet) once it passed its checks: the pixel
    limit (``max_pixels``, None: none), then the container's.

    ``for_decoding``: a single-scan sequential JPEG is reopened from its bytes with the
    end-of-image marker removed, so that a scan that stops early fails to decode (see
    jpeg_check). Call inside ``pillow_calls``.
    """
    img = open_pillow(path)
    try:
        check_pixel_limit(img, max_pixels, path)
        if img.format in ("JPEG", "MPO"):
            data = path.read_bytes()
            layout = check_jpeg(data)
            trimmed = trimmed_for_decoding(data, layout) if for_decoding else None
            if trimmed is not None:
                img.close()
                img = open_pillow(trimmed)
        elif img.format == "PNG":
            check_png(path)
    except BaseException:
        img.close()
        raise
    return img


def check_pixel_limit(img: Image.Image, max_pixels: int | None, path: Path | None) -> None:
    """ImageReadError if the header's width x height exceeds ``max_pixels`` (None: no limit)."""
    width, height = img.size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageReadError(
            path,
            f"image is {width} x {height} = {width * height:,} pixels, "
            f"more than the limit of {max_pixels:,}",
        )


def open_pillow(source: Path | BinaryIO, formats: tuple[str, ...] = READ_FORMATS) -> Image.Image:
    """``Image.open`` allowing PNG ICC profiles up to MAX_PNG_ICC_BYTES."""
    with _png_limit_lock:
        default = PngImagePlugin.MAX_TEXT_CHUNK
        PngImagePlugin.MAX_TEXT_CHUNK = max(default, MAX_PNG_ICC_BYTES)
        try:
            return Image.open(source, formats=formats)
        finally:
            PngImagePlugin.MAX_TEXT_CHUNK = default


@contextmanager
def pillow_calls(path: Path | None) -> Iterator[None]:
    """Run Pillow code: whatever it, zlib or the OS throws becomes ImageReadError.

    Decoders of damaged files raise almost any exception type (OSError, SyntaxError,
    ValueError, struct.error, EOFError, ...), so everything is caught here and kept
    as ``__cause__``. Pillow's warnings (decompression bomb: max_pixels is the limit that
    counts; corrupt EXIF: the block is dropped) are silenced, so nothing reaches stderr.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except ImageError:
        raise
    except Exception as exc:
        raise ImageReadError(path, describe_failure(exc)) from exc


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for an exception raised while opening or decoding an image."""
    if isinstance(exc, JpegDataError | PngDataError):
        return str(exc)
    if isinstance(exc, UnidentifiedImageError):
        return _NOT_AN_IMAGE
    if isinstance(exc, Image.DecompressionBombError):
        return f"too many pixels for Pillow's decompression-bomb limit: {exc}"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"corrupt or truncated image data ({exc or type(exc).__name__})"
