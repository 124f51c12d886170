"""EXIF in TIFF files: adding an EXIF block to a finished TIFF, and reading one from a TIFF.

In a TIFF the EXIF metadata lives in the image's own first directory (camera make and
model, date, ...) plus the Exif and GPS sub-directories it points to. Neither of srlab's
TIFF encoders can write those sub-directories (Pillow's libtiff path refuses them, tifffile
has no option), so the file is written first and the metadata appended afterwards: the
sub-directories, then a copy of the first directory with the metadata entries merged in,
then the header is pointed at that copy. Pixel data never moves, so every offset in the
original directory stays valid; the old directory is left as a few unused bytes.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image, TiffImagePlugin, TiffTags

from srlab.io.metadata import EXIF_HEADER

_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
# Tags that describe how the file's pixels are stored: the encoder's values must stay.
_LAYOUT_TAGS = frozenset(
    {
        254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284,
        290, 291, 292, 293, 317, 318, 319, 320, 322, 323, 324, 325, 330, 338, 339, 340,
        341, 347, 513, 514, 529, 530, 531, 532, 34675,
    }
)  # fmt: skip
# EXIF's descriptive first-directory tags, read from TIFF sources (others there describe the
# pixels, or are bulky non-EXIF blocks such as XMP, IPTC or Photoshop layers).
_DESCRIPTIVE_TAGS = frozenset({270, 271, 272, 305, 306, 315, 33432})  # description .. copyright
_CLASSIC = 42
_LITTLE_ENDIAN_HEAD = b"II*\x00\x08\x00\x00\x00"  # first directory right after the header


def append_exif(path: Path, exif: bytes) -> None:
    """Merge the EXIF block ``exif`` into the classic TIFF at ``path`` (see module doc).

    Entries the file already has win. Raises ValueError, leaving the file unchanged, if the
    file or the block cannot be combined.
    """
    source = exif.removeprefix(EXIF_HEADER)
    with path.open("r+b") as f:
        head = f.read(8)
        order = {b"II": "<", b"MM": ">"}.get(head[:2])
        if order is None or struct.unpack(order + "H", head[2:4])[0] != _CLASSIC:
            raise ValueError("not a classic TIFF file")
        (first,) = struct.unpack(order + "I", head[4:8])
        f.seek(first)
        (count,) = struct.unpack(order + "H", f.read(2))
        entries = f.read(12 * count)
        next_ifd = f.read(4)
        size = f.seek(0, io.SEEK_END)
        try:
            tail, directory_at = _tail(order, head, entries, next_ifd, source, size)
        except Exception as exc:  # Pillow raises many types on odd blocks
            raise ValueError(f"EXIF block cannot be added: {exc}") from exc
        f.write(tail)
        f.seek(4)
        f.write(struct.pack(order + "I", directory_at))


def _tail(
    order: str, head: bytes, entries: bytes, next_ifd: bytes, source: bytes, size: int
) -> tuple[bytes, int]:
    """The bytes to append at ``size`` and the offset of the new first directory in them."""
    existing = {struct.unpack_from(order + "H", entries, i)[0] for i in range(0, len(entries), 12)}
    first = _load(source, struct.unpack_from(_order(source) + "I", source, 4)[0])
    blocks = b"\0" * (size % 2)  # directories start on a word boundary
    pointers = {}
    for tag in (_EXIF_IFD, _GPS_IFD):
        if tag in first:
            sub = _copy(_load(source, first[tag]), head, skip={_INTEROP_IFD})
            pointers[tag] = size + len(blocks)
            blocks += _even(sub.tobytes(pointers[tag]))
    skip = _LAYOUT_TAGS | existing | {_EXIF_IFD, _GPS_IFD, _INTEROP_IFD}
    merged = _copy(first, head, skip=skip)
    for tag, offset in pointers.items():
        merged.tagtype[tag] = TiffTags.LONG
        merged[tag] = offset
    merged_at = size + len(blocks)
    merged_bytes = _even(merged.tobytes(merged_at))
    (added,) = struct.unpack_from(order + "H", merged_bytes)
    new_entries = sorted(
        [entries[i : i + 12] for i in range(0, len(entries), 12)]
        + [merged_bytes[2 + 12 * i : 14 + 12 * i] for i in range(added)],
        key=lambda entry: struct.unpack_from(order + "H", entry)[0],
    )
    directory_at = merged_at + len(merged_bytes)
    directory = struct.pack(order + "H", len(new_entries)) + b"".join(new_entries) + next_ifd
    return blocks + merged_bytes + directory, directory_at


def _order(tiff: bytes) -> str:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        raise ValueError("EXIF block is not TIFF-structured")
    return order


def _load(tiff: bytes, offset: int) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The directory at ``offset`` of a TIFF-structured block, with its entry types."""
    directory = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    stream = io.BytesIO(tiff)
    stream.seek(offset)
    directory.load(stream)
    return directory


def _copy(
    source: TiffImagePlugin.ImageFileDirectory_v2, head: bytes, *, skip: set[int] | frozenset[int]
) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The entries of ``source`` not in ``skip``, types kept, in the byte order of ``head``."""
    copy = TiffImagePlugin.ImageFileDirectory_v2(head)
    for tag, value in source.items():
        if tag in skip:
            continue
        copy.tagtype[tag] = source.tagtype[tag]
        copy[tag] = value
    return copy


def _even(data: bytes) -> bytes:
    return data + b"\0" * (len(data) % 2)


def exif_of_tiff(img: Image.Image) -> bytes | None:
    """The EXIF metadata of an opened TIFF as an EXIF block (``Exif\\0\\0`` + TIFF structure):
    its descriptive first-directory entries (description, make, model, software, date,
    artist, copyright) and the Exif and GPS sub-directories. None when there is none."""
    tags = getattr(img, "tag_v2", None)
    if tags is None:
        return None
    block = TiffImagePlugin.ImageFileDirectory_v2(_LITTLE_ENDIAN_HEAD)
    for tag in sorted(_DESCRIPTIVE_TAGS & set(tags)):
        block.tagtype[tag] = tags.tagtype[tag]
        block[tag] = tags[tag]
    exif = img.getexif()
    for tag in (_EXIF_IFD, _GPS_IFD):
        sub = {k: v for k, v in exif.get_ifd(tag).items() if k != _INTEROP_IFD}
        if sub:
            block.tagtype[tag] = TiffTags.LONG
            block[tag] = sub
    if not len(block):
        return None
    return EXIF_HEADER + _LITTLE_ENDIAN_HEAD + block.tobytes(len(_LITTLE_ENDIAN_HEAD))
