"""Hostile and damaged inputs: every file is refused in one line, or read exactly.

Generated files only (no fixtures); the whole module runs in seconds. Classes covered:
bombs (header far larger than the data), JPEG/PNG cut at many points (with and without an
end marker put back), multi-frame files, malformed EXIF, a 3 MB ICC profile, empty and
random files under image suffixes, content under the wrong suffix, 16-bit and alpha images.
"""

import io
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageFile

from srlab.io import (
    ImageReadError,
    from_array,
    from_pil,
    probe_image,
    read_image,
    to_array,
    write_image,
)

RNG = np.random.default_rng(19)
EOI = b"\xff\xd9"
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _photo(height: int = 300, width: int = 400) -> np.ndarray:
    """Detail everywhere (noise on a gradient), so every part of the file carries data."""
    ramp = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    noise = RNG.integers(0, 56, (height, width, 3))
    return (ramp + noise).astype(np.uint8)


def _jpeg(**options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_photo()).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _png(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _refused(path: Path, *fragments: str) -> str:
    """read_image and probe_image both refuse ``path`` in one line naming it."""
    with pytest.raises(ImageReadError) as read:
        read_image(path)
    with pytest.raises(ImageReadError) as probe:
        probe_image(path)
    for err in (read.value, probe.value):
        message = str(err)
        assert "\n" not in message
        assert message.startswith(f"cannot read {path}: ")
        assert any(fragment in message for fragment in fragments), message
    return str(read.value)


@pytest.fixture
def allocations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Sizes of the images Pillow allocated for decoding while the test ran."""
    seen: list[tuple[int, int]] = []
    prepare = ImageFile.ImageFile.load_prepare

    def spy(self: ImageFile.ImageFile) -> None:
        seen.append(self.size)
        prepare(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", spy)
    return seen


# --- bombs: a header claiming far more pixels than the data holds -------------------------


def test_truncated_images_are_never_loaded_leniently() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_600_byte_jpeg_claiming_10000_square_is_refused_before_allocating(
    tmp_path: Path, allocations: list
) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16), 90, np.uint8)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 10_000, 10_000)
    assert len(data) < 1000
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    _refused(path, "10000 x 10000 image needs at least")
    assert allocations == []


def test_png_header_claiming_10000_square_with_tiny_data_is_refused_before_allocating(
    tmp_path: Path, allocations: list
) -> None:
    data = _png(np.zeros((8, 8), np.uint8))
    header = struct.pack(">IIBBBBB", 10_000, 10_000, 8, 0, 0, 0, 0)
    forged = data[:8] + _chunk(b"IHDR", header) + data[8 + 25 :]
    path = tmp_path / "bomb.png"
    path.write_bytes(forged)
    _refused(path, "10000 x 10000 image needs at least")
    assert allocations == []


def test_most_compressible_real_files_are_not_mistaken_for_bombs(tmp_path: Path) -> None:
    """Flat images compress close to the limits the checks use, and must still read."""
    flat = np.full((1024, 1536), 77, np.uint8)
    Image.fromarray(flat).save(tmp_path / "flat.png", compress_level=9)
    assert (tmp_path / "flat.png").stat().st_size < 1536 * 1024 // 500
    for name, options in [
        ("seq.jpg", {"optimize": True}),
        ("prog.jpg", {"optimize": True, "progressive": True}),
        ("gray420.jpg", {"quality": 10}),
    ]:
        Image.fromarray(np.dstack([flat] * 3)).save(tmp_path / name, **options)
    for name in ("flat.png", "seq.jpg", "prog.jpg", "gray420.jpg"):
        img = read_image(tmp_path / name)
        assert img.rgb.shape[:2] == (1024, 1536)
        assert np.abs(to_array(img, np.uint8).astype(int) - 77).max() <= 2


# --- truncated JPEG ------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.02, 0.25, 0.5, 0.75, 0.95, 0.99])
@pytest.mark.parametrize("end_marker", [False, True], ids=["cut", "cut+EOI"])
def test_baseline_jpeg_cut_short_is_refused_not_filled_grey(
    tmp_path: Path, fraction: float, end_marker: bool
) -> None:
    data = _jpeg(quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * fraction)] + (EOI if end_marker else b""))
    with pytest.raises(ImageReadError, match="truncated") as info:
        read_image(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.95])
def test_progressive_jpeg_missing_scans_is_refused_even_with_an_end_marker(
    tmp_path: Path, fraction: float
) -> None:
    data = _jpeg(quality=90, progressive=True)
    last_scan = data.rindex(b"\xff\xda")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(last_scan * fraction)] + EOI)
    _refused(path, "truncated")


@pytest.mark.parametrize("drop", [1, 2, 3, 100, 5000])
@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_without_its_end_is_refused(tmp_path: Path, drop: int, progressive: bool) -> None:
    data = _jpeg(quality=90, progressive=progressive)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:-drop])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


def test_jpeg_cut_inside_its_headers_is_refused(tmp_path: Path) -> None:
    data = _jpeg()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: data.index(b"\xff\xc4") + 10])  # inside the Huffman tables
    _refused(path, "truncated", "corrupt")


def test_complete_jpegs_with_trailing_data_read_exactly(tmp_path: Path) -> None:
    for options in ({"quality": 90}, {"quality": 90, "progressive": True}):
        data = _jpeg(**options)
        with Image.open(io.BytesIO(data)) as reference:
            expected = np.asarray(reference.convert("RGB"))
        (tmp_path / "a.jpg").write_bytes(data + b"trailing bytes after the image")
        np.testing.assert_array_equal(to_array(read_image(tmp_path / "a.jpg"), np.uint8), expected)


# --- truncated PNG -------------------------------------------------------------------------


PNG_KINDS = ["rgb8", "interlaced", "rgb16"]


@pytest.fixture(scope="module")
def pngs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    deep = tmp_path_factory.mktemp("png") / "rgb16.png"
    write_image(deep, from_array(RNG.integers(0, 65536, (40, 50, 3), dtype=np.uint16)))
    return {
        "rgb8": _png(_photo(60, 80)),
        "interlaced": _png(_photo(60, 80), interlace=1),
        "rgb16": deep.read_bytes(),
    }


@pytest.mark.parametrize("kind", PNG_KINDS)
@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.9, -13, -12, -1])
def test_png_cut_short_is_refused(
    tmp_path: Path, pngs: dict[str, bytes], kind: str, keep: float
) -> None:
    data = pngs[kind]
    end = int(len(data) * keep) if keep > 0 else len(data) + int(keep)
    path = tmp_path / "cut.png"
    path.write_bytes(data[:end])
    _refused(path, "truncated")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_png_with_short_image_data_and_a_proper_end_is_refused(
    tmp_path: Path, pngs: dict[str, bytes], fraction: float
) -> None:
    data = pngs["rgb8"]
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    idat = data[start + 8 : start + 8 + length]
    forged = data[:start] + _chunk(b"IDAT", idat[: int(length * fraction)]) + _chunk(b"IEND", b"")
    path = tmp_path / "short.png"
    path.write_bytes(forged)
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


# --- other formats cut short --------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "options"),
    [(".tif", {}), (".tif", {"compression": "tiff_adobe_deflate"}), (".webp", {"quality": 90}),
     (".webp", {"lossless": True}), (".bmp", {})],
)  # fmt: skip
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_tiff_webp_bmp_cut_short_are_refused_by_their_decoders(
    tmp_path: Path, suffix: str, options: dict, keep: float
) -> None:
    buffer = io.BytesIO()
    Image.fromarray(_photo(60, 80)).save(buffer, Image.registered_extensions()[suffix], **options)
    data = buffer.getvalue()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * keep) if keep > 0 else len(data) + int(keep)])
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert "\n" not in str(info.value)


# --- multi-frame files ---------------------------------------------------------------------


def _frames(count: int = 3) -> list[Image.Image]:
    return [Image.fromarray(np.full((8, 10, 3), 60 * i, np.uint8)) for i in range(count)]


@pytest.mark.parametrize(
    ("name", "options"),
    [("anim.png", {}), ("anim.webp", {"lossless": True}), ("pages.tif", {})],
)
def test_multi_frame_files_are_refused_never_cut_to_the_first(
    tmp_path: Path, name: str, options: dict
) -> None:
    first, *rest = _frames()
    first.save(tmp_path / name, save_all=True, append_images=rest, **options)
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / name)
    assert str(info.value) == (
        f"cannot read {tmp_path / name}: has 3 frames; srlab upscales single images"
    )
    assert probe_image(tmp_path / name).frames == 3


def test_sixteen_bit_multi_page_tiff_is_refused(tmp_path: Path) -> None:
    pages = RNG.integers(0, 65536, (2, 6, 7, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "pages.tif", pages, photometric="rgb")
    with pytest.raises(ImageReadError, match="has 2 frames"):
        read_image(tmp_path / "pages.tif")


def test_animated_gif_is_refused_in_one_line(tmp_path: Path) -> None:
    first, *rest = _frames()
    first.save(tmp_path / "anim.gif", save_all=True, append_images=rest)
    _refused(tmp_path / "anim.gif", "not a PNG, JPEG, WebP, TIFF or BMP image")


def test_from_pil_refuses_an_animation_too(tmp_path: Path) -> None:
    first, *rest = _frames()
    first.save(tmp_path / "anim.png", save_all=True, append_images=rest)
    with Image.open(tmp_path / "anim.png") as pil, pytest.raises(ImageReadError, match="3 frames"):
        from_pil(pil)


def test_tiff_thumbnail_is_not_a_page_and_a_single_frame_apng_reads(tmp_path: Path) -> None:
    main = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    with tifffile.TiffWriter(tmp_path / "thumb.tif") as tif:
        tif.write(main, photometric="rgb")
        tif.write(main[::4, ::4], photometric="rgb", subfiletype=1)  # reduced resolution
    np.testing.assert_array_equal(to_array(read_image(tmp_path / "thumb.tif"), np.uint8), main)
    assert probe_image(tmp_path / "thumb.tif").frames == 1
    _frames(1)[0].save(tmp_path / "one.png", save_all=True, append_images=[])
    assert read_image(tmp_path / "one.png").rgb.shape == (8, 10, 3)


# --- malformed EXIF --------------------------------------------------------------------------


def _cut_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "ACME CAMERA COMPANY LTD"
    exif[0x0112] = 6
    exif[0x8769] = {0x9003: "2024:05:06 07:08:09"}
    return exif.tobytes()[:-30]  # entries point past the end of the block


def _malformed_exif_files(folder: Path) -> list[Path]:
    pixels = Image.fromarray(_photo(16, 24))
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x01" * 50
    files = [
        (folder / "cut.jpg", {"exif": _cut_exif()}),
        (folder / "garbage.jpg", {"exif": garbage}),
        (folder / "cut.png", {"exif": _cut_exif()}),
        (folder / "garbage.webp", {"exif": garbage, "lossless": True}),
    ]
    for path, options in files:
        pixels.save(path, **options)
    return [path for path, _ in files]


def test_malformed_exif_is_dropped_and_the_image_still_reads(tmp_path: Path) -> None:
    for path in _malformed_exif_files(tmp_path):
        img = read_image(path)
        assert img.exif is None, path
        assert img.rgb.shape[2] == 3
        out = write_image(tmp_path / f"out-{path.stem}{path.suffix}", img)
        with Image.open(out) as written:
            assert "exif" not in written.info  # the broken block is not written back


def test_malformed_exif_prints_nothing_on_the_terminal(tmp_path: Path) -> None:
    paths = _malformed_exif_files(tmp_path)
    script = textwrap.dedent(
        """
        import sys
        from srlab.io import probe_image, read_image
        for name in sys.argv[1:]:
            probe_image(name)
            read_image(name)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", script, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
    assert done.stderr == ""


# --- big ICC profiles ------------------------------------------------------------------------


def _big_profile(size: int = 3_000_000) -> bytes:
    """A valid sRGB header and tags, padded to ``size`` bytes (the header's size updated)."""
    padded = SRGB + RNG.integers(0, 256, size - len(SRGB), dtype=np.uint8).tobytes()
    return struct.pack(">I", size) + padded[4:]


@pytest.mark.parametrize(
    ("suffix", "depth"), [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16), (".jpg", 8)]
)
def test_three_megabyte_icc_profile_is_read_and_written_back(
    tmp_path: Path, suffix: str, depth: int
) -> None:
    profile = _big_profile()
    source = tmp_path / "big-icc.png"
    Image.fromarray(_photo(12, 16)).save(source, icc_profile=profile)
    img = read_image(source)
    assert img.icc_profile == profile
    img.bit_depth = depth
    out = write_image(tmp_path / f"out{suffix}", img)
    assert read_image(out).icc_profile == profile


# --- empty, random and mislabelled files --------------------------------------------------

SUFFIXES = [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"]
MAGIC = {
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff\xe0",
    ".webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    ".tif": b"II*\x00\x08\x00\x00\x00",
    ".bmp": b"BM",
}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_file_is_refused(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    _refused(tmp_path / f"empty{suffix}", "file is empty (0 bytes)")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_random_bytes_under_an_image_suffix_are_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _refused(path, "not a PNG, JPEG, WebP, TIFF or BMP image")


@pytest.mark.parametrize("suffix", sorted(MAGIC))
def test_right_signature_then_random_bytes_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"fake{suffix}"
    path.write_bytes(MAGIC[suffix] + RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _refused(path, "not a PNG", "corrupt", "truncated", "unsupported", "image data")


def test_text_under_an_image_suffix_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("just some notes\n" * 50)
    _refused(tmp_path / "notes.png", "not a PNG, JPEG, WebP, TIFF or BMP image")


def test_content_under_the_wrong_suffix_is_read_by_its_content(tmp_path: Path) -> None:
    pixels = _photo(10, 12)
    (tmp_path / "really-png.jpg").write_bytes(_png(pixels))
    img = read_image(tmp_path / "really-png.jpg")
    assert img.format == "PNG"
    np.testing.assert_array_equal(to_array(img, np.uint8), pixels)
    (tmp_path / "really-jpeg.png").write_bytes(_jpeg())
    assert read_image(tmp_path / "really-jpeg.png").format == "JPEG"


# --- 16-bit and alpha variants still read exactly ----------------------------------------


def _variants(folder: Path) -> dict[str, np.ndarray]:
    """Files of many layouts, and the samples each must read back as."""
    out = {}
    for name, samples in [
        ("rgb16.png", RNG.integers(0, 65536, (9, 11, 3), dtype=np.uint16)),
        ("rgba16.png", RNG.integers(0, 65536, (9, 11, 4), dtype=np.uint16)),
        ("gray16.png", RNG.integers(0, 65536, (9, 11), dtype=np.uint16)),
        ("rgba8.png", RNG.integers(0, 256, (9, 11, 4), dtype=np.uint8)),
        ("la8.png", RNG.integers(0, 256, (9, 11, 2), dtype=np.uint8)),
        ("rgba8.webp", RNG.integers(0, 256, (9, 11, 4), dtype=np.uint8)),
        ("rgb16.tif", RNG.integers(0, 65536, (9, 11, 3), dtype=np.uint16)),
        ("rgba16.tif", RNG.integers(0, 65536, (9, 11, 4), dtype=np.uint16)),
    ]:
        write_image(folder / name, from_array(samples), quality=100)
        out[name] = samples
    return out


def test_sixteen_bit_and_alpha_variants_read_exactly_and_probe_agrees(tmp_path: Path) -> None:
    for name, samples in _variants(tmp_path).items():
        img = read_image(tmp_path / name)
        np.testing.assert_array_equal(to_array(img, samples.dtype), samples, err_msg=name)
        info = probe_image(tmp_path / name)
        channels = 1 if samples.ndim == 2 else samples.shape[2]
        assert (info.width, info.height, info.channels) == (11, 9, channels), name
        assert info.bit_depth == img.bit_depth == samples.dtype.itemsize * 8, name
        assert info.frames == 1
