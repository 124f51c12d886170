"""Reading photographs into DecodedImage: every failure becomes one ImageReadError.

Pillow decodes; this module checks the file, its container (truncated or forged data),
its frame count and its pixel count first, decodes 16-bit data exactly, applies the EXIF
orientation, and turns the zoo of Pillow, zlib and OS exceptions into a single error type
with a one-line message. Pillow's warnings never reach the terminal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from srlab.io.deep import decode_deep, deep_rawmode
from srlab.io.errors import ImageReadError
from srlab.io.image import DecodedImage
from srlab.io.metadata import ORIENTATION_TAG, apply_orientation, icc_fits, upright_exif
from srlab.io.opener import (
    READ_FORMATS,
    check_file,
    check_pixel_limit,
    open_checked,
    pillow_calls,
)
from srlab.io.probe import (
    COLOUR_MODES,
    GRAY16_MODES,
    GRAY_MODES,
    count_frames,
    image_format,
    unsupported_mode,
)
from srlab.io.tiff_exif import exif_of_tiff

DEFAULT_MAX_PIXELS: int = 100_000_000

__all__ = ["DEFAULT_MAX_PIXELS", "READ_FORMATS", "from_pil", "read_image"]


def read_image(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode an image file fully; raise ImageReadError naming the file on any problem.

    ``max_pixels`` (None: no limit of ours) is checked from the header, before decoding;
    truncated or forged JPEG/PNG data and multi-frame files are refused before decoding too.
    """
    path = Path(path)
    check_file(path)
    with pillow_calls(path):
        img = open_checked(path, max_pixels)
    with img:
        return from_pil(img, max_pixels=max_pixels, path=path)


def from_pil(
    img: Image.Image, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, path: str | Path | None = None
) -> DecodedImage:
    """Decode a Pillow image; pass it unloaded (fresh from Image.open) so that the
    pixel limit is checked before decoding and 16-bit colour is decoded exactly.

    Images with several frames or pages are refused, never silently cut to the first.
    """
    if path is None and getattr(img, "filename", None):
        path = img.filename
    path = Path(path) if path is not None else None
    with pillow_calls(path):
        frames = count_frames(img)
    if frames > 1:
        raise ImageReadError(path, f"has {frames} frames; srlab upscales single images")
    check_pixel_limit(img, max_pixels, path)
    with pillow_calls(path):
        samples, bit_depth, loaded = _decode(img, path)
        orientation = _orientation(loaded)
        exif = upright_exif(loaded.info.get("exif") or exif_of_tiff(loaded))
    icc_profile = loaded.info.get("icc_profile") or None
    del loaded  # a 16-bit file's own decoded copy: free it before the float32 result is made
    samples = apply_orientation(samples, orientation)
    colour = 1 if samples.shape[2] <= 2 else 3
    has_alpha = samples.shape[2] in (2, 4)
    scale = np.float32(65535.0 if bit_depth == 16 else 255.0)
    return DecodedImage(
        _as_float(samples[:, :, :colour], scale),
        _as_float(samples[:, :, colour], scale) if has_alpha else None,
        bit_depth,
        format=image_format(img),
        path=path,
        icc_profile=icc_profile if icc_fits(icc_profile, gray=colour == 1) else None,
        exif=exif,
    )


def _as_float(plane: np.ndarray, scale: np.float32) -> np.ndarray:
    """Integer samples as C-contiguous float32 in 0..1; colour and alpha are converted
    separately so that no combined float array (1.5 to 2 times the result) is made."""
    values = plane.astype(np.float32, order="C")
    values /= scale
    return values


def _decode(img: Image.Image, path: Path | None) -> tuple[np.ndarray, int, Image.Image]:
    """Pixels as uint8/uint16 H x W x C (alpha last), the bit depth, and a loaded image."""
    rawmode = deep_rawmode(img)
    if rawmode is not None:
        samples, loaded = decode_deep(img, rawmode)
        return _with_transparency_key(samples, img.info), 16, loaded
    img.load()
    if img.mode in GRAY16_MODES:
        samples = np.asarray(img).astype(np.uint16)[:, :, None]
        return _with_transparency_key(samples, img.info), 16, img
    if img.mode in GRAY_MODES or img.mode in COLOUR_MODES:
        target = "L" if img.mode in GRAY_MODES else "RGB"
        target += "A" if img.has_transparency_data else ""
        samples = np.asarray(img if img.mode == target else img.convert(target))
        return samples.reshape(*samples.shape[:2], -1), 8, img
    raise unsupported_mode(img, path)


def _with_transparency_key(samples: np.ndarray, info: dict) -> np.ndarray:
    """Turn a 16-bit PNG tRNS colour key (one gray or RGB value) into an alpha channel."""
    key = info.get("transparency")
    if key is None or samples.shape[2] not in (1, 3):
        return samples
    opaque = np.any(samples != np.asarray(key, dtype=np.uint16).reshape(-1), axis=2)
    return np.dstack([samples, np.where(opaque, 65535, 0).astype(np.uint16)])


def _orientation(loaded: Image.Image) -> object:
    """The EXIF (or TIFF tag) orientation of a loaded image; broken EXIF counts as absent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return loaded.getexif().get(ORIENTATION_TAG)
        except Exception:  # EXIF is optional: broken metadata must not make a photo unreadable
            return None
