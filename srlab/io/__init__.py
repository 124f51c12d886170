"""Image I/O for photographers' files: exact decoding, atomic never-clobbering writes."""

from srlab.io.atomic import atomic_write
from srlab.io.errors import ImageError, ImageReadError, ImageWriteError, OutputExistsError
from srlab.io.image import DecodedImage, from_array, to_array, to_pil
from srlab.io.read import DEFAULT_MAX_PIXELS, READ_FORMATS, from_pil, read_image
from srlab.io.walk import find_images
from srlab.io.write import SUPPORTED_SUFFIXES, output_format_for, write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_FORMATS",
    "SUPPORTED_SUFFIXES",
    "DecodedImage",
    "ImageError",
    "ImageReadError",
    "ImageWriteError",
    "OutputExistsError",
    "atomic_write",
    "find_images",
    "from_array",
    "from_pil",
    "output_format_for",
    "read_image",
    "to_array",
    "to_pil",
    "write_image",
]
