"""The in-memory image that srlab works on, and its conversions to arrays and Pillow.

Pixels are float32 in 0..1 whatever the source stored, so models see one layout;
``bit_depth`` and the metadata travel alongside so the output can match the input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike
from PIL import Image

_SCALE = {8: 255.0, 16: 65535.0}
_INT_DTYPES = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}


@dataclass
class DecodedImage:
    """Decoded pixels plus what is needed to write them back faithfully.

    rgb: float32 H x W x C, C = 1 (grayscale) or 3 (colour), values in 0..1.
    alpha: float32 H x W in 0..1 (straight, not premultiplied), or None.
    bit_depth: bits per channel the source stored (8 or 16); the default for writing.
    format: Pillow format name of the source ("PNG", "JPEG", ...), None for arrays.
    path: the source file, if any.
    icc_profile: the embedded colour profile, kept only when it matches the pixels.
    exif: the source's EXIF block without the orientation tag (pixels are upright).

    Arrays are converted to C-contiguous float32 on construction (also by
    ``dataclasses.replace``); wrong shapes or bit depths raise ValueError.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    format: str | None = None
    path: Path | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None

    def __post_init__(self) -> None:
        self.rgb = np.ascontiguousarray(self.rgb, dtype=np.float32)
        if self.rgb.ndim != 3 or self.rgb.shape[2] not in (1, 3):
            raise ValueError(f"rgb must be H x W x 1 or H x W x 3, got shape {self.rgb.shape}")
        if self.alpha is not None:
            self.alpha = np.ascontiguousarray(self.alpha, dtype=np.float32)
            if self.alpha.shape != self.rgb.shape[:2]:
                raise ValueError(
                    f"alpha must be H x W = {self.rgb.shape[:2]}, got shape {self.alpha.shape}"
                )
        if self.bit_depth not in _SCALE:
            raise ValueError(f"bit_depth must be 8 or 16, got {self.bit_depth}")

    @property
    def height(self) -> int:
        return self.rgb.shape[0]

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None

    @property
    def is_gray(self) -> bool:
        return self.rgb.shape[2] == 1

    def with_pixels(self, rgb: np.ndarray, alpha: np.ndarray | None) -> DecodedImage:
        """New pixels (an upscaled image, or a band of its rows) with this image's bit depth,
        format, ICC profile and EXIF; no path, as they come from no file."""
        return replace(self, rgb=rgb, alpha=alpha, path=None)


def from_array(arr: np.ndarray) -> DecodedImage:
    """Wrap an array: uint8 / uint16 / float (0..1; clipped), H x W or H x W x 1..4.

    Channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Float arrays get bit_depth 8.
    """
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"expected an H x W or H x W x C array with C in 1..4, got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty: shape {arr.shape}")
    if arr.dtype in _INT_DTYPES:
        depth = _INT_DTYPES[arr.dtype]
        values = arr.astype(np.float32) / np.float32(_SCALE[depth])
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("float image contains NaN or infinite values")
        depth = 8
        values = np.clip(arr, 0.0, 1.0).astype(np.float32)
    else:
        raise ValueError(f"expected a uint8, uint16 or float array, got dtype {arr.dtype}")
    return split_channels(values, bit_depth=depth)


def split_channels(values: np.ndarray, *, bit_depth: int, **metadata: object) -> DecodedImage:
    """Build a DecodedImage from float H x W x C values (C = 1..4, alpha last)."""
    colour = 1 if values.shape[2] <= 2 else 3
    alpha = values[:, :, colour] if values.shape[2] in (2, 4) else None
    return DecodedImage(values[:, :, :colour], alpha, bit_depth, **metadata)


_QUANTIZE_BAND = 1 << 22  # values per band when converting to integers (16 MiB of float32)


def to_array(img: DecodedImage, dtype: DTypeLike) -> np.ndarray:
    """Pixels as H x W (gray), H x W x 2 (gray + alpha), H x W x 3 or H x W x 4 (RGBA).

    Integer dtypes (uint8, uint16) are rounded to nearest and clipped to their range, a band of
    rows at a time, so a huge image needs no full-size float temporaries; float dtypes return
    the stored 0..1 values.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        values = img.rgb if img.alpha is None else np.dstack([img.rgb, img.alpha])
        values = values.astype(dtype)
        return values[:, :, 0] if values.shape[2] == 1 else values
    if dtype not in _INT_DTYPES:
        raise ValueError(f"dtype must be uint8, uint16 or a float type, got {dtype}")
    scale = np.float32(_SCALE[_INT_DTYPES[dtype]])
    height, width, colour = img.rgb.shape
    planes = [(img.rgb, slice(0, colour))]
    if img.alpha is not None:
        planes.append((img.alpha[:, :, None], slice(colour, colour + 1)))
    out = np.empty((height, width, colour + len(planes) - 1), dtype)
    band = max(1, _QUANTIZE_BAND // max(1, width * out.shape[2]))
    for top in range(0, height, band):
        rows = slice(top, top + band)
        for plane, channels in planes:
            chunk = plane[rows]
            if not np.isfinite(chunk).all():
                raise ValueError("image contains NaN or infinite values")
            out[rows, :, channels] = np.rint(np.clip(chunk, 0.0, 1.0) * scale)
    return out[:, :, 0] if out.shape[2] == 1 else out


def to_pil(img: DecodedImage) -> Image.Image:
    """Pixels as a Pillow image (no metadata attached).

    16-bit gray without alpha becomes mode "I;16". Pillow has no 16-bit colour or
    16-bit gray + alpha modes, so those become 8-bit RGB / RGBA / LA (rounded);
    write_image keeps 16 bits for PNG and TIFF without going through Pillow.
    Everything else is 8-bit L, LA, RGB or RGBA.
    """
    if img.bit_depth == 16 and img.is_gray and img.alpha is None:
        return Image.fromarray(to_array(img, np.uint16))
    return Image.fromarray(to_array(img, np.uint8))
