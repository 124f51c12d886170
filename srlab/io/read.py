"""Reading photographs into DecodedImage: every failure becomes one ImageReadError.

Pillow decodes; this module checks the file and the pixel count first, decodes
16-bit data exactly, applies the EXIF orientation, and turns the zoo of Pillow,
zlib and OS exceptions into a single error type with a one-line message.
"""

from __future__ import annotations

import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from srlab.io.deep import decode_deep, deep_rawmode
from srlab.io.errors import ImageError, ImageReadError
from srlab.io.image import DecodedImage, split_channels
from srlab.io.metadata import ORIENTATION_TAG, apply_orientation, exif_without_orientation, icc_fits

DEFAULT_MAX_PIXELS: int = 100_000_000

# Pillow plugins tried on open; anything else is refused before any decoding.
READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
_NOT_AN_IMAGE = "not a PNG, JPEG, WebP, TIFF or BMP image (or its header is corrupt)"

_GRAY_MODES = frozenset({"1", "L", "LA"})
_COLOUR_MODES = frozenset({"P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr"})
_GRAY16_MODES = frozenset({"I;16", "I;16B", "I;16L"})
_UNSUPPORTED = {"F": "32-bit floating point", "I": "32-bit integer", "LAB": "CIELAB"}


def read_image(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode an image file fully; raise ImageReadError naming the file on any problem.

    ``max_pixels`` (None: no limit of ours) is checked from the header, before decoding.
    """
    path = Path(path)
    _check_file(path)
    with _pillow_calls(path):
        img = Image.open(path, formats=READ_FORMATS)
    with img:
        return from_pil(img, max_pixels=max_pixels, path=path)


def from_pil(
    img: Image.Image, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, path: str | Path | None = None
) -> DecodedImage:
    """Decode a Pillow image; pass it unloaded (fresh from Image.open) so that the
    pixel limit is checked before decoding and 16-bit colour is decoded exactly."""
    if path is None and getattr(img, "filename", None):
        path = img.filename
    path = Path(path) if path is not None else None
    width, height = img.size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageReadError(
            path,
            f"image is {width} x {height} = {width * height:,} pixels, "
            f"more than the limit of {max_pixels:,}",
        )
    with _pillow_calls(path):
        samples, bit_depth, loaded = _decode(img, path)
    orientation, exif = _exif_metadata(loaded)
    icc_profile = loaded.info.get("icc_profile") or None
    samples = apply_orientation(samples, orientation)
    gray = samples.shape[2] <= 2
    values = samples.astype(np.float32, order="C")
    values /= np.float32(65535.0 if bit_depth == 16 else 255.0)
    return split_channels(
        values,
        bit_depth=bit_depth,
        format="JPEG" if img.format == "MPO" else img.format,
        path=path,
        icc_profile=icc_profile if icc_fits(icc_profile, gray=gray) else None,
        exif=exif,
    )


def _decode(img: Image.Image, path: Path | None) -> tuple[np.ndarray, int, Image.Image]:
    """Pixels as uint8/uint16 H x W x C (alpha last), the bit depth, and a loaded image."""
    rawmode = deep_rawmode(img)
    if rawmode is not None:
        samples, loaded = decode_deep(img, rawmode)
        return _with_transparency_key(samples, img.info), 16, loaded
    img.load()
    if img.mode in _GRAY16_MODES:
        samples = np.asarray(img).astype(np.uint16)[:, :, None]
        return _with_transparency_key(samples, img.info), 16, img
    if img.mode in _GRAY_MODES or img.mode in _COLOUR_MODES:
        target = "L" if img.mode in _GRAY_MODES else "RGB"
        target += "A" if img.has_transparency_data else ""
        samples = np.asarray(img if img.mode == target else img.convert(target))
        return samples.reshape(*samples.shape[:2], -1), 8, img
    kind = _UNSUPPORTED.get(img.mode, "not an 8/16-bit gray or colour image")
    raise ImageReadError(path, f"unsupported pixel format {img.mode} ({kind})")


def _with_transparency_key(samples: np.ndarray, info: dict) -> np.ndarray:
    """Turn a 16-bit PNG tRNS colour key (one gray or RGB value) into an alpha channel."""
    key = info.get("transparency")
    if key is None or samples.shape[2] not in (1, 3):
        return samples
    opaque = np.any(samples != np.asarray(key, dtype=np.uint16).reshape(-1), axis=2)
    return np.dstack([samples, np.where(opaque, 65535, 0).astype(np.uint16)])


def _exif_metadata(loaded: Image.Image) -> tuple[object, bytes | None]:
    """The EXIF orientation, and the EXIF block without it; broken EXIF counts as absent."""
    try:
        orientation = loaded.getexif().get(ORIENTATION_TAG)
        exif = loaded.info.get("exif")
        return orientation, exif_without_orientation(exif) if exif else None
    except Exception:  # EXIF is optional: broken metadata must not make a photo unreadable.
        return None, None


def _check_file(path: Path) -> None:
    """Fail early, with a clear reason, for missing, non-regular and empty files."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ImageReadError(path, _describe(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(path, "is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(path, "not a regular file")
    if info.st_size == 0:
        raise ImageReadError(path, "file is empty (0 bytes)")


@contextmanager
def _pillow_calls(path: Path | None) -> Iterator[None]:
    """Run Pillow code: whatever it, zlib or the OS throws becomes ImageReadError.

    Decoders of damaged files raise almost any exception type (OSError, SyntaxError,
    ValueError, struct.error, EOFError, ...), so everything is caught here and kept
    as ``__cause__``. Pillow's decompression-bomb warning is silenced: max_pixels is
    the limit that counts.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except ImageError:
        raise
    except Exception as exc:
        raise ImageReadError(path, _describe(exc)) from exc


def _describe(exc: Exception) -> str:
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
