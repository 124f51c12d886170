"""Pair sources: folder scans, decoding, LR/HR alignment, on-the-fly LR, paired and val data."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from srlab.data import (
    BD,
    BI,
    DN,
    HRFolderSource,
    PairedFolderSource,
    RealWorld,
    SampleRequest,
    dihedral,
    make_val_pairs,
    scan_images,
)
from srlab.io import ImageReadError
from srlab.ops import imresize


def _write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _smooth(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Random smooth uint8 RGB content (H x W x 3) with edges everywhere, no flat areas."""
    rough = np.random.default_rng(seed).random((*shape, 3))
    smooth = ndimage.gaussian_filter(rough, sigma=(2, 2, 0))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(255 * smooth).astype(np.uint8)


def _hr_folder(tmp_path: Path, shapes=((50, 61), (37, 44))) -> Path:
    folder = tmp_path / "hr"
    for i, shape in enumerate(shapes):
        _write(folder / f"img{i}.png", _smooth(shape, seed=i))
    return folder


def _chw(pixels: np.ndarray) -> np.ndarray:
    return pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255)


def _requests(source, size: int, count: int, seed: int = 0) -> list[SampleRequest]:
    """Random requests, including crops touching every image border."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        image = k % len(source)
        h, w = source.lr_size(image)
        top, left = [(0, 0), (h - size, w - size), (0, w - size), (h - size, 0)][k % 4]
        if k >= 4:
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        out.append(SampleRequest(image, top, left, size, k % 8, seed=1000 + k))
    return out


def test_scan_is_recursive_sorted_and_skips_hidden_and_other_files(tmp_path):
    pixels = np.zeros((4, 4, 3), np.uint8)
    for name in ("b.png", "sub/a.jpg", "A.PNG", ".hidden.png", ".cache/c.png", "z/y.bmp"):
        _write(tmp_path / name, pixels)
    (tmp_path / "notes.txt").write_text("not an image")
    found = [p.relative_to(tmp_path).as_posix() for p in scan_images(tmp_path)]
    assert found == ["A.PNG", "b.png", "sub/a.jpg", "z/y.bmp"]


def test_scan_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        scan_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="no images"):
        scan_images(tmp_path)


def test_unreadable_image_fails_at_construction_naming_the_file(tmp_path):
    folder = _hr_folder(tmp_path)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    for cache in (True, False):
        with pytest.raises(ImageReadError, match=r"broken\.png"):
            HRFolderSource(folder, 2, cache=cache)


def test_gray_and_rgba_become_rgb_and_hr_is_modcropped(tmp_path):
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (18, 23), dtype=np.uint8)
    rgba = rng.integers(0, 256, (21, 17, 4), dtype=np.uint8)
    rgba[..., 3] = rng.integers(1, 256, (21, 17))  # alpha must not touch colour
    _write(tmp_path / "lr" / "a.png", gray[:6, :7])
    _write(tmp_path / "lr" / "b.png", rgba[:7, :5, :3])
    _write(tmp_path / "hr" / "a.png", gray)
    _write(tmp_path / "hr" / "b.png", rgba)
    source = PairedFolderSource(tmp_path / "lr", tmp_path / "hr", 3)
    assert source.names == ("a.png", "b.png")
    assert [source.lr_size(i) for i in range(2)] == [(6, 7), (7, 5)]
    lr, hr = source.batch([SampleRequest(0, 0, 0, 5), SampleRequest(1, 2, 0, 5)])
    assert lr.shape == (2, 3, 5, 5) and hr.shape == (2, 3, 15, 15)
    np.testing.assert_array_equal(hr[0], _chw(np.dstack([gray[:15, :15]] * 3)))
    np.testing.assert_array_equal(lr[0], _chw(np.dstack([gray[:5, :5]] * 3)))
    np.testing.assert_array_equal(hr[1], _chw(rgba[6:21, :15, :3]))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_paired_blocks_stay_aligned_under_every_transform(tmp_path, scale):
    """HR = LR upsampled by repetition, so every aligned pair satisfies HR = repeat(LR)."""
    lr_pixels = np.random.default_rng(scale).integers(0, 256, (13, 11, 3), dtype=np.uint8)
    hr_pixels = lr_pixels.repeat(scale, 0).repeat(scale, 1)
    hr_pixels = np.pad(hr_pixels, ((0, scale - 1), (0, scale - 1), (0, 0)))  # modcropped away
    _write(tmp_path / "lr" / f"0001x{scale}.png", lr_pixels)  # DIV2K-style LR name
    _write(tmp_path / "hr" / "0001.png", hr_pixels)
    source = PairedFolderSource(tmp_path / "lr", tmp_path / "hr", scale)
    for transform in range(8):
        request = SampleRequest(0, 3, 2, 7, transform)
        lr, hr = source.batch([request])
        np.testing.assert_array_equal(hr[0], lr[0].repeat(scale, 1).repeat(scale, 2))
        expected = dihedral(_chw(lr_pixels[3:10, 2:9]), transform)
        np.testing.assert_array_equal(lr[0], expected)


def _bi_reference(pixels: np.ndarray, scale: int) -> np.ndarray:
    h, w = pixels.shape[0] // scale * scale, pixels.shape[1] // scale * scale
    return imresize(torch.from_numpy(_chw(pixels[:h, :w])), 1 / scale).numpy()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_hr_source_crops_of_bi_follow_the_request(tmp_path, scale):
    folder = _hr_folder(tmp_path, shapes=((61, 73),))
    pixels = np.asarray(Image.open(folder / "img0.png"))
    source = HRFolderSource(folder, scale)
    reference = _bi_reference(pixels, scale)
    assert source.lr_size(0) == reference.shape[1:]
    for request in _requests(source, size=6, count=12):
        lr, hr = source.batch([request])
        t, c, p, turn = request.top, request.left, request.size, request.transform
        expected_lr = reference[:, t : t + p, c : c + p]
        expected_hr = _chw(pixels)[:, t * scale : (t + p) * scale, c * scale : (c + p) * scale]
        np.testing.assert_allclose(lr[0], dihedral(expected_lr, turn), atol=1e-6, rtol=0)
        np.testing.assert_array_equal(hr[0], dihedral(expected_hr, turn))


@pytest.mark.parametrize("degradation", [BI(2), BI(3), BI(4), BD(3)], ids=repr)
def test_lr_from_hr_crop_with_margin_equals_precomputed_lr(tmp_path, degradation):
    folder = _hr_folder(tmp_path, shapes=((90, 77), (49, 100)))
    precomputed = HRFolderSource(folder, degradation.scale, degradation, cache=True)
    on_the_fly = HRFolderSource(folder, degradation.scale, degradation, cache=False)
    requests = _requests(precomputed, size=8, count=24)
    lr_a, hr_a = precomputed.batch(requests)
    lr_b, hr_b = on_the_fly.batch(requests)
    np.testing.assert_array_equal(hr_a, hr_b)
    np.testing.assert_allclose(lr_a, lr_b, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(precomputed.lr_batch(requests), lr_a)


def test_random_chain_patch_equals_crop_of_whole_image_for_its_linear_part(tmp_path):
    """RealWorld without noise or JPEG is blur + bicubic: the margin makes the patch exact."""
    linear = RealWorld(4, noise_sigma=(0.0, 0.0), poisson_prob=0.0, jpeg_prob=0.0)
    folder = _hr_folder(tmp_path, shapes=((120, 132),))
    pixels = np.asarray(Image.open(folder / "img0.png"))
    source = HRFolderSource(folder, 4, linear)
    for request in _requests(source, size=7, count=8):
        whole = linear(torch.from_numpy(_chw(pixels)), torch.Generator().manual_seed(request.seed))
        t, left, p = request.top, request.left, request.size
        expected = dihedral(whole.numpy()[:, t : t + p, left : left + p], request.transform)
        np.testing.assert_allclose(source.lr_batch([request])[0], expected, atol=1e-5, rtol=0)


def test_random_degradation_is_seeded_by_the_request(tmp_path):
    grey = np.full((64, 64, 3), 128, np.uint8)  # mid-grey: noise is never clipped
    _write(tmp_path / "hr" / "grey.png", grey)
    sigma = 10 / 255
    source = HRFolderSource(tmp_path / "hr", 2, DN(2, sigma=sigma))
    a = source.lr_batch([SampleRequest(0, 4, 4, 24, seed=7)])
    b = source.lr_batch([SampleRequest(0, 4, 4, 24, seed=7)])
    c = source.lr_batch([SampleRequest(0, 4, 4, 24, seed=8)])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    noise = a - np.float32(128 / 255)
    assert abs(noise.mean()) < 0.15 * sigma
    assert abs(noise.std() / sigma - 1) < 0.1


def test_round_lr_gives_8bit_values_cached_or_not(tmp_path):
    folder = _hr_folder(tmp_path)
    source = HRFolderSource(folder, 2, round_lr=True)
    requests = _requests(source, size=10, count=8)
    lr = source.lr_batch(requests)
    np.testing.assert_allclose(lr * 255, np.rint(lr * 255), atol=1e-4)
    np.testing.assert_array_equal(
        HRFolderSource(folder, 2, round_lr=True, cache=False).lr_batch(requests), lr
    )
    unrounded = HRFolderSource(folder, 2).lr_batch(requests)
    assert not np.allclose(unrounded * 255, np.rint(unrounded * 255), atol=1e-4)
    np.testing.assert_allclose(lr, unrounded, atol=0.5 / 255 + 1e-6)


def test_batches_are_fresh_arrays_and_the_cache_is_read_only(tmp_path):
    source = HRFolderSource(_hr_folder(tmp_path), 2)
    request = SampleRequest(0, 1, 2, 8)
    lr, hr = source.batch([request])
    lr += 1
    hr += 1
    again_lr, again_hr = source.batch([request])
    assert again_lr.max() <= 1 and again_hr.max() <= 1
    assert again_lr.flags.writeable and again_lr.flags.c_contiguous
    with pytest.raises(ValueError, match="read-only"):
        source._hr[0][0, 0, 0] = 0


def test_requests_outside_the_image_are_refused_naming_it(tmp_path):
    source = HRFolderSource(_hr_folder(tmp_path), 2)  # img1: 37 x 44 HR -> 18 x 22 LR
    assert source.lr_size(1) == (18, 22)
    with pytest.raises(ValueError, match=r"img1\.png"):
        source.batch([SampleRequest(1, 11, 0, 8)])
    with pytest.raises(ValueError, match=r"img1\.png"):
        source.lr_batch([SampleRequest(1, 0, -1, 8)])
    source.check_fits(18)
    with pytest.raises(ValueError, match=r"1 image\(s\).*img1.png"):
        source.check_fits(19)


def test_degradation_must_match_scale_and_be_known(tmp_path):
    folder = _hr_folder(tmp_path)
    with pytest.raises(ValueError, match="scale 3, not 2"):
        HRFolderSource(folder, 2, BI(3))

    class Custom(BI):
        pass

    with pytest.raises(TypeError, match="Custom"):
        HRFolderSource(folder, 2, Custom(2))


def _paired(tmp_path: Path, lr_names, hr_names, lr_shape=(8, 9), scale=2):
    pixels = _smooth((lr_shape[0] * scale, lr_shape[1] * scale), seed=0)
    for name in hr_names:
        _write(tmp_path / "hr" / name, pixels)
    for name in lr_names:
        _write(tmp_path / "lr" / name, pixels[::scale, ::scale])
    return tmp_path / "lr", tmp_path / "hr"


def test_paired_folders_match_by_relative_name(tmp_path):
    lr, hr = _paired(tmp_path, ["x/a.png", "bx2.jpg"], ["x/a.png", "b.png"])
    source = PairedFolderSource(lr, hr, 2, cache=False)
    assert source.names == ("b.png", "x/a.png")
    assert len(source) == 2
    requests = [SampleRequest(0, 0, 1, 7, 5), SampleRequest(1, 1, 2, 7, 2)]
    cached = PairedFolderSource(lr, hr, 2).batch(requests)
    for a, b in zip(source.batch(requests), cached, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("lr_names", "hr_names", "message"),
    [
        (["a.png", "c.png"], ["a.png"], "LR files without an HR partner.*c.png"),
        (["a.png"], ["a.png", "b.png"], "HR files without an LR partner.*b.png"),
        (["a.png"], ["a.png", "a.jpg"], "HR files .*a.jpg.*same name"),
        (["a.png", "ax2.png"], ["a.png"], "LR files .*a.png.*ax2.png.*both match"),
    ],
)
def test_paired_folder_mismatches_are_named(tmp_path, lr_names, hr_names, message):
    lr, hr = _paired(tmp_path, lr_names, hr_names)
    with pytest.raises(ValueError, match=message):
        PairedFolderSource(lr, hr, 2)


def test_paired_size_mismatch_names_the_files(tmp_path):
    _write(tmp_path / "hr" / "a.png", _smooth((20, 24), 0))
    _write(tmp_path / "lr" / "a.png", _smooth((10, 11), 0))
    with pytest.raises(ValueError, match=r"a.png: HR is 20 x 24.*10 x 11.*LR x 2 must equal HR"):
        PairedFolderSource(tmp_path / "lr", tmp_path / "hr", 2)


def test_val_pairs_are_whole_rounded_and_reproducible(tmp_path):
    folder = _hr_folder(tmp_path)
    pairs = make_val_pairs(folder, 3)
    assert [p.name for p in pairs] == ["img0", "img1"]
    pixels = np.asarray(Image.open(folder / "img1.png"))
    _, lr, hr = pairs[1]
    assert hr.shape == (36, 42, 3) and lr.shape == (12, 14, 3) and lr.dtype == np.float32
    np.testing.assert_array_equal(hr, pixels[:36, :42].astype(np.float32) / np.float32(255))
    expected = np.floor(_bi_reference(pixels, 3).transpose(1, 2, 0) * 255 + 0.5) / 255
    np.testing.assert_allclose(lr, expected, atol=1e-6)
    noisy = [make_val_pairs(folder, 3, DN(3), seed=s)[0].lr for s in (0, 0, 1)]
    np.testing.assert_array_equal(noisy[0], noisy[1])
    assert not np.array_equal(noisy[0], noisy[2])


def test_real_photos(shared_dir, tmp_path):
    names = ["lxqt_beam.png", "lxqt_valendas.png", "lxqt_after_the_rain.png"]
    for name in names:
        (tmp_path / name).symlink_to(shared_dir / "data" / "photos" / "train" / name)
    source = HRFolderSource(tmp_path, 4)
    assert source.names == tuple(sorted(names))
    assert source.lr_size(0) == (656 // 4, 992 // 4)  # after_the_rain: 992 x 656
    requests = _requests(source, size=48, count=16)
    lr, hr = source.batch(requests)
    assert lr.shape == (16, 3, 48, 48) and hr.shape == (16, 3, 192, 192)
    assert lr.min() > -0.05 and lr.max() < 1.05 and hr.std() > 0.05  # bicubic overshoots
    # A BI patch is close to the bicubic shrink of its own HR patch (they differ at borders).
    own = imresize(torch.from_numpy(hr), 0.25).numpy()[..., 4:-4, 4:-4]
    assert np.abs(own - lr[..., 4:-4, 4:-4]).max() < 1e-5
    lr_uncached, hr_uncached = HRFolderSource(tmp_path, 4, cache=False).batch(requests)
    np.testing.assert_array_equal(hr, hr_uncached)
    np.testing.assert_allclose(lr, lr_uncached, atol=1e-6, rtol=0)
