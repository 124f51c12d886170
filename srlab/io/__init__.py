"""Image I/O for photographers' files: exact decoding, atomic never-clobbering writes."""

from srlab.io.atomic import atomic_write
from srlab.io.errors import (
    FileError,
    ImageError,
    ImageReadError,
    ImageWriteError,
    OutputExistsError,
    OutputWriteError,
)
from srlab.io.image import DecodedImage, from_array, to_array, to_pil
from srlab.io.probe import ImageInfo, probe_image
from srlab.io.read import DEFAULT_MAX_PIXELS, READ_FORMATS, from_pil, read_image
from srlab.io.temp_files import remove_stale_temp_files
from srlab.io.walk import find_images
from srlab.io.write import (
    SUPPORTED_SUFFIXES,
    output_format_for,
    write_image,
    write_png_streamed,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_FORMATS",
    "SUPPORTED_SUFFIXES",
    "DecodedImage",
    "FileError",
    "ImageError",
    "ImageInfo",
    "ImageReadError",
    "ImageWriteError",
    "OutputExistsError",
    "OutputWriteError",
    "atomic_write",
    "find_images",
    "from_array",
    "from_pil",
    "output_format_for",
    "probe_image",
    "read_image",
    "remove_stale_temp_files",
    "to_array",
    "to_pil",
    "write_image",
    "write_png_streamed",
]
