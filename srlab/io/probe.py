"""probe_image: what an image file holds, from its headers alone, for memory estimates.

No pixel is decoded, so a caller can refuse or plan a job (tiling, a smaller batch) before
allocating anything. The probe refuses every file read_image refuses for being unreadable
(not an image, corrupt, truncated or forged, unsupported pixel format); it does not apply a
pixel limit and reports multi-frame files (read_image refuses those).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from srlab.io.deep import deep_channels, deep_rawmode
from srlab.io.errors import ImageReadError
from srlab.io.metadata import ORIENTATION_TAG, exif_orientation, swaps_sides
from srlab.io.opener import check_file, open_checked, pillow_calls

GRAY_MODES = frozenset({"1", "L", "LA"})
COLOUR_MODES = frozenset({"P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr"})
GRAY16_MODES = frozenset({"I;16", "I;16B", "I;16L"})
_UNSUPPORTED = {"F": "32-bit floating point", "I": "32-bit integer", "LAB": "CIELAB"}
_REDUCED_RESOLUTION = 1  # TIFF NewSubfileType bit: a thumbnail or preview of another page
_NEW_SUBFILE_TYPE = 254
_FLOAT32_BYTES = 4
_READ_PEAK_TENTHS = 25  # read_peak_bytes = 2.5 x decoded_bytes


@dataclass(frozen=True)
class ImageInfo:
    """An image file's header facts, as read_image would return the image.

    width, height: upright (after the EXIF orientation), in pixels.
    channels: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
    bit_depth: 8 or 16 bits per channel.
    frames: pages or animation frames (previews and thumbnails not counted).
    format: Pillow's format name ("PNG", "JPEG", "WEBP", "TIFF", "BMP").
    """

    width: int
    height: int
    channels: int
    bit_depth: int
    frames: int
    format: str

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """Memory of the DecodedImage read_image returns (float32 samples, alpha included)."""
        return self.pixels * self.channels * _FLOAT32_BYTES

    @property
    def read_peak_bytes(self) -> int:
        """A safe estimate of read_image's peak memory for this file: Pillow's copy, the
        integer samples and the float32 result exist at once. Measured (1500 x 1000 noise,
        tests/io/test_io_probe.py): 1.55 times decoded_bytes for 16-bit gray + alpha PNG, 1.6
        for RGB PNG at 8 or 16 bits, 1.75 for 16-bit RGBA TIFF, 2.0 for RGBA WebP; the rest of
        the 2.5 is for the allocator, whose freed blocks are not always given back at once."""
        return self.decoded_bytes * _READ_PEAK_TENTHS // 10


def probe_image(path: str | Path) -> ImageInfo:
    """Size, channels, bit depth, frame count and format of an image file, without decoding.

    Raises ImageReadError (one line naming the file) where read_image would fail for a reason
    other than the pixel limit or the frame count.
    """
    path = Path(path)
    check_file(path)
    with pillow_calls(path):
        img = open_checked(path, for_decoding=False)
        with img:
            return describe(img, path)


def describe(img: Image.Image, path: Path | None) -> ImageInfo:
    """ImageInfo of a not-yet-loaded Pillow image."""
    channels, bit_depth = pixel_layout(img, path)
    width, height = img.size
    if swaps_sides(header_orientation(img)):
        width, height = height, width
    return ImageInfo(width, height, channels, bit_depth, count_frames(img), image_format(img))


def image_format(img: Image.Image) -> str:
    """Pillow's format name; camera MPO files (JPEG plus previews) report "JPEG"."""
    return "JPEG" if img.format == "MPO" else img.format


def pixel_layout(img: Image.Image, path: Path | None) -> tuple[int, int]:
    """(channels, bit depth) of the pixels read_image returns for an unloaded Pillow image.

    Raises ImageReadError for pixel formats srlab does not read.
    """
    rawmode = deep_rawmode(img)
    if rawmode is not None:
        return _plus_key_alpha(deep_channels(img, rawmode), img), 16
    if img.mode in GRAY16_MODES:
        return _plus_key_alpha(1, img), 16
    if img.mode in GRAY_MODES or img.mode in COLOUR_MODES:
        colour = 1 if img.mode in GRAY_MODES else 3
        return colour + int(img.has_transparency_data), 8
    raise unsupported_mode(img, path)


def unsupported_mode(img: Image.Image, path: Path | None) -> ImageReadError:
    kind = _UNSUPPORTED.get(img.mode, "not an 8/16-bit gray or colour image")
    return ImageReadError(path, f"unsupported pixel format {img.mode} ({kind})")


def _plus_key_alpha(channels: int, img: Image.Image) -> int:
    """16-bit gray or RGB with a PNG tRNS colour key gains an alpha channel on read."""
    keyed = channels in (1, 3) and img.info.get("transparency") is not None
    return channels + int(keyed)


def header_orientation(img: Image.Image) -> int | None:
    """The EXIF (or TIFF) orientation known before decoding; None if absent or invalid."""
    if "exif" in img.info:
        return exif_orientation(img.info["exif"])
    tags = getattr(img, "tag_v2", None)  # TIFF keeps the orientation among its own tags
    value = tags.get(ORIENTATION_TAG) if tags is not None else None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def count_frames(img: Image.Image) -> int:
    """Pages or animation frames in an unloaded Pillow image; the current frame is kept.

    TIFF directories marked as reduced-resolution copies (thumbnails) are not pages, and an
    MPO's extra images are previews or stereo views of the primary JPEG image.
    """
    if img.format == "MPO":
        return 1
    frames = getattr(img, "n_frames", 1)
    if img.format != "TIFF" or frames == 1:
        return frames
    current = img.tell()
    pages = 0
    for index in range(frames):
        img.seek(index)
        pages += not img.tag_v2.get(_NEW_SUBFILE_TYPE, 0) & _REDUCED_RESOLUTION
    img.seek(current)
    return pages
