"""Writing DecodedImage as PNG, JPEG, WebP, TIFF or BMP without ever half-writing a file.

The format comes from the suffix. The output keeps the image's bit depth where the
format allows it (PNG, TIFF), its alpha (PNG, WebP, TIFF; refused for JPEG/BMP unless
dropped explicitly), grayscale (except WebP, which has none) and its ICC profile
and EXIF where the format carries them. PNG is written by srlab's own encoder
(`srlab.io.png`), which can also take an image a band of rows at a time
(`write_png_streamed`), so an output too large to hold in memory is encoded as it is made.
Every write goes through atomic_write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import tifffile

from srlab.io.atomic import atomic_write
from srlab.io.errors import ImageWriteError, OutputExistsError, OutputWriteError
from srlab.io.image import DecodedImage, to_array, to_pil
from srlab.io.metadata import EXIF_HEADER, icc_fits
from srlab.io.png import PngWriter
from srlab.io.tiff_exif import append_exif

_FORMAT_BY_SUFFIX = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMAT_BY_SUFFIX)

_DEEP_FORMATS = frozenset({"PNG", "TIFF"})  # can store 16 bits per channel
_ALPHA_FORMATS = frozenset({"PNG", "TIFF", "WEBP"})
_OPAQUE = 254.5 / 255  # alpha at or above this is 255 in 8 bits: dropping it loses nothing
_ICC_TAG = 34675  # TIFF InterColorProfile
_JPEG_MAX_EXIF = 65533  # one APP1 segment; larger blocks (from PNG, WebP, TIFF) cannot go in


def output_format_for(path: str | Path) -> str:
    """Pillow format name for an output path's suffix (case-insensitive)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMAT_BY_SUFFIX:
        raise ValueError(
            f"unsupported output file type {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return _FORMAT_BY_SUFFIX[suffix]


def write_image(
    path: str | Path,
    img: DecodedImage,
    *,
    overwrite: bool = False,
    bit_depth: int | None = None,
    quality: int = 95,
    drop_alpha: bool = False,
) -> Path:
    """Write ``img`` atomically to ``path``; return ``path``.

    bit_depth: 8 or 16 (default: the image's); JPEG, WebP and BMP are always 8-bit.
    quality: JPEG/WebP quality 1..100 (JPEG uses 4:4:4 chroma; WebP 100 is lossless).
    drop_alpha: allow JPEG/BMP output of a transparent image by discarding alpha.
    Raises OutputExistsError if the file exists and not ``overwrite``, ImageWriteError
    for any other failure to write (a full disk included), ValueError for invalid arguments.
    """
    path = Path(path)
    if bit_depth not in (None, 8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    try:
        fmt = output_format_for(path)
    except ValueError as exc:
        raise ImageWriteError(path, str(exc)) from exc
    prepared = _prepare(path, img, fmt, bit_depth=bit_depth or img.bit_depth, drop_alpha=drop_alpha)
    if fmt == "PNG":  # srlab's encoder, whole or in bands: the same file
        return _write_png(path, prepared.height, [prepared], overwrite)
    encode = _ENCODERS[fmt]

    def write(tmp: Path) -> None:
        with _encoding_errors(path, fmt):
            encode(tmp, prepared, quality)

    return _write_atomically(path, write, overwrite)


def write_png_streamed(
    path: str | Path, height: int, bands: Iterable[DecodedImage], *, overwrite: bool = False
) -> Path:
    """Write an image that arrives as bands of rows as a PNG, atomically; return ``path``.

    ``bands``: DecodedImages of the image's rows, top to bottom, ``height`` rows in all, each
    the full width with the same channels, bit depth and metadata (the first band's ICC profile
    and EXIF are written). Each band is quantised as `write_image` would the whole image, so the
    file decodes to the same pixels, and encoded before the next is asked for: only one band is
    ever held here. Errors as `write_image`'s; an exception raised by ``bands`` itself passes
    through unchanged, and whatever the failure no file and no temporary file are left.
    """
    path = Path(path)
    try:
        fmt = output_format_for(path)
    except ValueError as exc:
        raise ImageWriteError(path, str(exc)) from exc
    if fmt != "PNG":
        raise ImageWriteError(path, f"only PNG is written a band of rows at a time, not {fmt}")
    prepared = (_prepare(path, b, fmt, bit_depth=b.bit_depth, drop_alpha=False) for b in bands)
    return _write_png(path, height, prepared, overwrite)


def _write_png(
    path: Path, height: int, prepared: Iterable[DecodedImage], overwrite: bool
) -> Path:
    """Encode bands already `_prepare`d for PNG into ``path``, atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            _encode_png_bands(path, out, height, prepared)

    return _write_atomically(path, write, overwrite)


def _write_atomically(path: Path, write: Callable[[Path], None], overwrite: bool) -> Path:
    """atomic_write, with filesystem failures reported as ImageWriteError."""
    try:
        return atomic_write(path, write, overwrite=overwrite)
    except (ImageWriteError, OutputExistsError):
        raise
    except OutputWriteError as exc:  # a filesystem failure, while writing an image
        raise ImageWriteError(exc.path, exc.reason) from exc


@contextlib.contextmanager
def _encoding_errors(path: Path, fmt: str) -> Iterator[None]:
    """Report an encoder's OSError or ValueError as ImageWriteError naming ``path``."""
    try:
        yield
    except ImageWriteError:
        raise
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImageWriteError(path, f"{fmt} encoding failed: {reason}") from exc


def _encode_png_bands(
    path: Path, out: BinaryIO, height: int, bands: Iterable[DecodedImage]
) -> None:
    """Quantise and encode prepared bands into ``out``; errors of the encoder (not of
    ``bands``) become ImageWriteError naming ``path``."""
    png: PngWriter | None = None
    for band in bands:
        with _encoding_errors(path, "PNG"):
            samples = to_array(band, np.uint16 if band.bit_depth == 16 else np.uint8)
            if png is None:
                png = PngWriter(
                    out, width=band.width, height=height,
                    channels=band.rgb.shape[2] + band.has_alpha, bit_depth=band.bit_depth,
                    icc_profile=band.icc_profile, exif=band.exif,
                )
            png.write(samples)
            del samples
    with _encoding_errors(path, "PNG"):
        if png is None:
            raise ValueError("no rows were given")
        png.finish()


def _prepare(
    path: Path, img: DecodedImage, fmt: str, *, bit_depth: int, drop_alpha: bool
) -> DecodedImage:
    """The image as ``fmt`` will store it: depth, alpha, gray and ICC profile settled."""
    depth = bit_depth if fmt in _DEEP_FORMATS else 8
    alpha = img.alpha
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        if not drop_alpha and alpha.min() < _OPAQUE:
            raise ImageWriteError(
                path,
                f"{fmt} cannot store transparency; save as .png, .webp or .tif, "
                "or drop the alpha channel explicitly",
            )
        alpha = None
    rgb = img.rgb
    if img.is_gray and not _keeps_gray(fmt, depth, has_alpha=alpha is not None):
        rgb = np.repeat(rgb, 3, axis=2)
    icc = img.icc_profile if icc_fits(img.icc_profile, gray=rgb.shape[2] == 1) else None
    exif = img.exif and EXIF_HEADER + img.exif.removeprefix(EXIF_HEADER)  # as JPEG needs it
    if fmt == "BMP" or (fmt == "JPEG" and exif and len(exif) > _JPEG_MAX_EXIF):
        exif = None
    return replace(img, rgb=rgb, alpha=alpha, bit_depth=depth, icc_profile=icc, exif=exif)


def _keeps_gray(fmt: str, bit_depth: int, *, has_alpha: bool) -> bool:
    """Whether ``fmt`` can store gray pixels as gray (else they are written as RGB)."""
    if fmt == "WEBP":
        return False  # WebP has no grayscale mode.
    # Pillow cannot read 16-bit gray + alpha TIFF back, so that is stored as RGBA.
    return not (fmt == "TIFF" and bit_depth == 16 and has_alpha)


def _samples16(img: DecodedImage) -> np.ndarray:
    samples = to_array(img, np.uint16)
    return samples.reshape(*samples.shape[:2], -1)


def _metadata(img: DecodedImage) -> dict[str, bytes]:
    """Pillow save options for the metadata the image carries."""
    options = {"icc_profile": img.icc_profile, "exif": img.exif}
    return {key: value for key, value in options.items() if value}


def _write_tiff(tmp: Path, img: DecodedImage, quality: int) -> None:
    """8-bit TIFF through Pillow, 16-bit through tifffile (Pillow lacks 16-bit colour); then
    the EXIF block, which neither can write, is appended (dropped if it cannot be merged)."""
    if img.bit_depth == 8:
        icc = {"icc_profile": img.icc_profile} if img.icc_profile else {}
        to_pil(img).save(tmp, "TIFF", compression="tiff_adobe_deflate", **icc)
    else:
        _write_tiff16(tmp, img)
    if img.exif:
        with contextlib.suppress(ValueError):
            append_exif(tmp, img.exif)


def _write_tiff16(tmp: Path, img: DecodedImage) -> None:
    samples = _samples16(img)
    channels = samples.shape[2]
    tifffile.imwrite(
        tmp,
        samples[:, :, 0] if channels == 1 else samples,
        photometric="minisblack" if channels == 1 else "rgb",
        extrasamples=["unassalpha"] if channels == 4 else None,
        compression="zlib",
        predictor=True,
        metadata=None,
        extratags=[(_ICC_TAG, 7, len(img.icc_profile), img.icc_profile, True)]
        if img.icc_profile
        else None,
    )


def _write_jpeg(tmp: Path, img: DecodedImage, quality: int) -> None:
    to_pil(img).save(tmp, "JPEG", quality=quality, subsampling=0, **_metadata(img))


def _write_webp(tmp: Path, img: DecodedImage, quality: int) -> None:
    # exact=True keeps colour under fully transparent pixels, which upscaling needs.
    options = {"quality": quality, "lossless": quality == 100, "exact": True}
    to_pil(img).save(tmp, "WEBP", **options, **_metadata(img))


def _write_bmp(tmp: Path, img: DecodedImage, quality: int) -> None:
    to_pil(img).save(tmp, "BMP")


_ENCODERS: dict[str, Callable[[Path, DecodedImage, int], None]] = {
    "TIFF": _write_tiff,
    "JPEG": _write_jpeg,
    "WEBP": _write_webp,
    "BMP": _write_bmp,
}
