"""Training and validation images, and aligned (LR, HR) patch pairs cut from them.

A :class:`PairSource` holds the training images and answers :class:`SampleRequest` s: "the LR patch
of ``size`` pixels at (top, left) of image ``image``, and its HR partner" (``size * scale`` pixels
at (top * scale, left * scale)). Two kinds:

- :class:`HRFolderSource`: HR images only; LR made by a degradation. Deterministic degradations
  (BI, BD, JPEG, compositions of them) run once per image at load, so a batch costs only crops.
  Random ones (DN, RealWorld) run per sample on the HR crop plus a context margin wide enough
  that the linear parts (blur, bicubic) equal a crop of degrading the whole image; noise and JPEG
  are drawn per patch, seeded by the request.
- :class:`PairedFolderSource`: stored LR/HR files matched by name.

Images are decoded once at construction (a failure names the file) into 3 x H x W uint8 arrays:
gray is repeated to RGB, alpha dropped, 16-bit sources rounded to 8 bit, HR cropped to a multiple
of the scale. With ``cache=True`` they stay in RAM, read-only, in plain lists that DataLoader
workers share by fork; with ``cache=False`` each access decodes the file again (slow, small RAM).
Batches come out as new float32 N x C x H x W arrays in 0..1 (float bicubic LR may overshoot
that range slightly, as MATLAB's does).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from srlab.data.augment import dihedral
from srlab.data.degradations import (
    BD,
    BI,
    DN,
    JPEG,
    Compose,
    Degradation,
    RealWorld,
    RoundTo8Bit,
    modcrop,
    round_to_8bit,
)
from srlab.io import SUPPORTED_SUFFIXES, find_images, read_image

__all__ = [
    "EvalPair",
    "HRFolderSource",
    "PairSource",
    "PairedFolderSource",
    "SampleRequest",
    "image_generator",
    "make_val_pairs",
    "scan_images",
]

_SHOWN = 5  # file names listed in an error before "..."


@dataclass(frozen=True)
class SampleRequest:
    """One training sample: where to cut it, how to augment it, how to seed its degradation.

    image: index into the source; top, left, size: the LR crop (HR: all times the scale);
    transform: dihedral id 0..7 (see :mod:`srlab.data.augment`); seed: seeds random degradations.
    """

    image: int
    top: int
    left: int
    size: int
    transform: int = 0
    seed: int = 0


class EvalPair(NamedTuple):
    """A whole image pair to score a model on (validation during training, `srlab eval`):
    H x W x 3 float32 LR holding 8-bit values (as stored LR test images) and its
    sH x sW x 3 float32 HR, both in 0..1."""

    name: str
    lr: np.ndarray
    hr: np.ndarray


def scan_images(folder: str | Path) -> list[Path]:
    """:func:`srlab.io.find_images` (recursive, sorted, hidden files and folders skipped), and
    an error naming the folder when it holds no image."""
    found = find_images(folder)
    if not found:
        raise ValueError(f"no images ({', '.join(sorted(SUPPORTED_SUFFIXES))}) under {folder}")
    return found


def image_generator(seed: int, index: int) -> torch.Generator:
    """The generator of random degradations for the ``index``-th image of a sorted folder under
    ``seed`` (non-negative): distinct (seed, index) pairs give unrelated streams, so an image's
    LR depends only on the seed and its place, not on the images before it."""
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _relative_stem(root: Path, path: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def _load_rgb8(path: Path, scale: int) -> np.ndarray:
    """Decode to a read-only 3 x H x W uint8 array, H and W cropped to multiples of ``scale``."""
    rgb = modcrop(read_image(path).rgb, scale)
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"{path}: image is smaller than the scale {scale}")
    planes = np.rint(rgb.transpose(2, 0, 1) * 255).astype(np.uint8)
    out = np.ascontiguousarray(np.broadcast_to(planes, (3, *planes.shape[1:])))
    out.flags.writeable = False
    return out


def _to_float(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in 0..1 (exact division, as ``torch`` ``div_(255)`` does it)."""
    return x.astype(np.float32) / np.float32(255)


def _turn_and_stack(patches: Sequence[np.ndarray], transforms: Sequence[int]) -> np.ndarray:
    """Turn each patch by its dihedral transform and stack them into a new N x C x H x W
    float32 array in 0..1 (uint8 patches are divided by 255).

    Each crop is first copied out of its big image (a streaming read), turned while it is in
    cache, and uint8 batches are converted in one contiguous pass: about twice as fast as
    stacking turned views of the images and converting crop by crop.
    """
    stacked = np.stack(
        [dihedral(np.ascontiguousarray(p), t) for p, t in zip(patches, transforms, strict=True)]
    )
    if stacked.dtype != np.uint8:
        return stacked.astype(np.float32, copy=False)
    out = stacked.astype(np.float32)
    out /= np.float32(255)
    return out


class _Images:
    """Decoded images of a list of files: kept in RAM, or decoded again on each access.

    All files are decoded once at construction either way, so unreadable ones fail early.
    """

    def __init__(self, paths: Sequence[Path], scale: int, cache: bool) -> None:
        self.paths = tuple(paths)
        self.scale = scale
        kept, sizes = [], []
        for path in self.paths:
            img = _load_rgb8(path, scale)
            sizes.append(img.shape[1:])
            if cache:
                kept.append(img)
        self.sizes: tuple[tuple[int, int], ...] = tuple(sizes)
        self._cache = kept if cache else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        if self._cache is not None:
            return self._cache[index]
        return _load_rgb8(self.paths[index], self.scale)


def _crop(img: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    return img[:, top : top + size, left : left + size]


class PairSource(ABC):
    """Training images that cut aligned (LR, HR) patch pairs for sample requests.

    ``names`` (relative file names, for messages) has one entry per image. Requests are
    answered in batches of new float32 arrays, N x C x p x p (LR) and N x C x sp x sp (HR),
    each sample turned by its dihedral ``transform``.
    """

    scale: int
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    @abstractmethod
    def lr_size(self, image: int) -> tuple[int, int]:
        """(height, width) of the LR version of image ``image``."""

    def batch(self, requests: Sequence[SampleRequest]) -> tuple[np.ndarray, np.ndarray]:
        """The aligned (LR, HR) patches of ``requests``."""
        for request in requests:
            self._check(request)
        lrs, hrs = zip(*(self._raw_pair(r) for r in requests), strict=True)
        transforms = [r.transform for r in requests]
        return _turn_and_stack(lrs, transforms), _turn_and_stack(hrs, transforms)

    def lr_batch(self, requests: Sequence[SampleRequest]) -> np.ndarray:
        """Only the LR patches (what content-aware planners score; cheaper than :meth:`batch`)."""
        for request in requests:
            self._check(request)
        return _turn_and_stack([self._raw_lr(r) for r in requests], [r.transform for r in requests])

    def check_fits(self, patch_size: int) -> None:
        """Raise naming the images whose LR side is shorter than ``patch_size``."""
        small = [n for i, n in enumerate(self.names) if min(self.lr_size(i)) < patch_size]
        if small:
            raise ValueError(
                f"{len(small)} image(s) have an LR side shorter than the patch size {patch_size}:"
                f" {_listing(small)}"
            )

    @abstractmethod
    def _raw_lr(self, request: SampleRequest) -> np.ndarray:
        """The LR crop as stored (uint8, or float32 in 0..1), not turned; may be a view."""

    @abstractmethod
    def _raw_pair(self, request: SampleRequest) -> tuple[np.ndarray, np.ndarray]:
        """The (LR, HR) crops as stored, not turned; may be views."""

    def _check(self, request: SampleRequest) -> None:
        h, w = self.lr_size(request.image)
        if not (
            request.size > 0
            and 0 <= request.top <= h - request.size
            and 0 <= request.left <= w - request.size
        ):
            raise ValueError(
                f"{self.names[request.image]}: LR crop of {request.size} px at "
                f"({request.top}, {request.left}) does not fit in its {h} x {w} LR image"
            )


class _Footprint(NamedTuple):
    reach: int  # input pixels beyond a crop that the output inside it depends on
    random: bool  # draws from the generator


def _footprint(op: Degradation) -> _Footprint:
    """How far each known degradation looks, and whether it is random (unknown ops: error)."""
    if isinstance(op, Compose):
        reach, factor, random = 0, 1, False
        for inner in op.ops:
            step = _footprint(inner)
            reach += factor * step.reach
            factor *= inner.scale
            random = random or step.random
        return _Footprint(reach, random)
    kind = type(op)  # exact types: a subclass may look further than its parent
    # Bicubic shrinking by s: taps lie less than 2s HR pixels from each LR pixel's centre.
    if kind is BI or kind is DN:
        return _Footprint(2 * op.scale, kind is DN)
    if kind is BD:
        return _Footprint(op.kernel_size // 2, False)
    if kind is RealWorld:
        return _Footprint(op.blur_kernel_size // 2 + 2 * op.scale, True)
    if kind is JPEG or kind is RoundTo8Bit:
        return _Footprint(0, False)  # JPEG's 8 x 8 blocks are not local: a patch differs
    raise TypeError(
        f"HRFolderSource does not know how far {type(op).__name__} looks; use BI, BD, DN, JPEG,"
        " RoundTo8Bit, RealWorld or a Compose of them"
    )


class HRFolderSource(PairSource):
    """HR images from a folder; LR made on the fly by ``degradation`` (default BI).

    With ``cache=True`` and a deterministic degradation the whole LR image is computed once at
    load; otherwise LR is made per sample from the HR crop plus a margin of the degradation's
    reach (a multiple of the scale, clipped at the image borders, where the crop's borders are
    the image's), which gives the same numbers for the local parts of the chain.

    ``round_lr`` rounds LR to 8-bit values as stored LR test data are; the default keeps float
    LR, the usual choice for training on the fly. Cached float LR takes 4 / s**2 bytes per HR
    pixel and channel (x2: as much RAM as the HR images), rounded LR a quarter of that.
    """

    def __init__(
        self,
        folder: str | Path,
        scale: int,
        degradation: Degradation | None = None,
        *,
        cache: bool = True,
        round_lr: bool = False,
    ) -> None:
        self.degradation = BI(scale) if degradation is None else degradation
        if self.degradation.scale != scale:
            raise ValueError(
                f"degradation {self.degradation!r} has scale {self.degradation.scale}, not {scale}"
            )
        footprint = _footprint(self.degradation)
        self.scale = scale
        self.round_lr = round_lr
        self._margin = -(-footprint.reach // scale) * scale
        root = Path(folder)
        paths = scan_images(root)
        self.names = tuple(p.relative_to(root).as_posix() for p in paths)
        self._hr = _Images(paths, scale, cache)
        self._lr = None
        if cache and not footprint.random:
            self._lr = [self._stored_lr(self._hr[i]) for i in range(len(paths))]

    def lr_size(self, image: int) -> tuple[int, int]:
        h, w = self._hr.sizes[image]
        return h // self.scale, w // self.scale

    def _raw_lr(self, request: SampleRequest) -> np.ndarray:
        if self._lr is not None:
            return _crop(self._lr[request.image], request.top, request.left, request.size)
        return self._lr_from_hr(self._hr[request.image], request)

    def _raw_pair(self, request: SampleRequest) -> tuple[np.ndarray, np.ndarray]:
        s = self.scale
        hr_img = self._hr[request.image]
        hr = _crop(hr_img, request.top * s, request.left * s, request.size * s)
        if self._lr is not None:
            return _crop(self._lr[request.image], request.top, request.left, request.size), hr
        return self._lr_from_hr(hr_img, request), hr

    def _stored_lr(self, hr: np.ndarray) -> np.ndarray:
        """The whole LR image of a deterministic degradation, read-only; 8-bit values are kept
        as uint8 (a quarter of the RAM, the same numbers once divided by 255)."""
        lr = self._degrade(hr, 0)
        stored = np.rint(lr * 255).astype(np.uint8) if self.round_lr else lr
        stored.flags.writeable = False
        return stored

    def _degrade(self, hr: np.ndarray, seed: int) -> np.ndarray:
        """Degrade a 3 x H x W uint8 array into float32 LR, seeding random ops with ``seed``."""
        x = torch.from_numpy(_to_float(hr))
        lr = self.degradation(x, torch.Generator().manual_seed(seed))
        return (round_to_8bit(lr) if self.round_lr else lr).numpy()

    def _lr_from_hr(self, hr_img: np.ndarray, request: SampleRequest) -> np.ndarray:
        s, m = self.scale, self._margin
        height, width = hr_img.shape[1:]
        top, left, size = request.top * s, request.left * s, request.size * s
        t0, l0 = max(0, top - m), max(0, left - m)
        t1, l1 = min(height, top + size + m), min(width, left + size + m)
        lr = self._degrade(hr_img[:, t0:t1, l0:l1], request.seed)
        return _crop(lr, (top - t0) // s, (left - l0) // s, request.size)


class PairedFolderSource(PairSource):
    """Stored LR and HR images in two folders, matched by relative path without the suffix.

    An LR name may also end in ``x{scale}`` (DIV2K's ``0001x4.png`` for ``0001.png``). HR is
    cropped to a multiple of the scale and must then be exactly ``scale`` times its LR.
    """

    def __init__(
        self, lr_folder: str | Path, hr_folder: str | Path, scale: int, *, cache: bool = True
    ) -> None:
        self.scale = scale
        hr_root, lr_root = Path(hr_folder), Path(lr_folder)
        pairs = _match(lr_root, scan_images(lr_root), hr_root, scan_images(hr_root), scale)
        self.names = tuple(hr.relative_to(hr_root).as_posix() for _, hr in pairs)
        self._lr = _Images([lr for lr, _ in pairs], 1, cache)
        self._hr = _Images([hr for _, hr in pairs], scale, cache)
        for (lr, hr), lr_hw, hr_hw in zip(pairs, self._lr.sizes, self._hr.sizes, strict=True):
            if (lr_hw[0] * scale, lr_hw[1] * scale) != hr_hw:
                raise ValueError(
                    f"{hr}: HR is {hr_hw[0]} x {hr_hw[1]} (cropped to a multiple of {scale}) but"
                    f" its LR {lr} is {lr_hw[0]} x {lr_hw[1]}; LR x {scale} must equal HR"
                )

    def lr_size(self, image: int) -> tuple[int, int]:
        return self._lr.sizes[image]

    def _raw_lr(self, request: SampleRequest) -> np.ndarray:
        return _crop(self._lr[request.image], request.top, request.left, request.size)

    def _raw_pair(self, request: SampleRequest) -> tuple[np.ndarray, np.ndarray]:
        s = self.scale
        hr = _crop(self._hr[request.image], request.top * s, request.left * s, request.size * s)
        return self._raw_lr(request), hr


def _listing(names: Sequence[object]) -> str:
    shown = ", ".join(str(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _match(
    lr_root: Path, lr_paths: list[Path], hr_root: Path, hr_paths: list[Path], scale: int
) -> list[tuple[Path, Path]]:
    """(LR, HR) path pairs in HR order; any unmatched or ambiguous file is an error."""
    hr_by_key: dict[str, Path] = {}
    for path in hr_paths:
        key = _relative_stem(hr_root, path)
        if key in hr_by_key:
            raise ValueError(f"HR files {hr_by_key[key]} and {path} have the same name")
        hr_by_key[key] = path
    lr_by_hr: dict[Path, Path] = {}
    orphans = []
    for path in lr_paths:
        key = _relative_stem(lr_root, path)
        hr = hr_by_key.get(key) or hr_by_key.get(key.removesuffix(f"x{scale}"))
        if hr is None:
            orphans.append(path)
        elif hr in lr_by_hr:
            raise ValueError(f"LR files {lr_by_hr[hr]} and {path} both match HR file {hr}")
        else:
            lr_by_hr[hr] = path
    if orphans:
        raise ValueError(f"LR files without an HR partner in {hr_root}: {_listing(orphans)}")
    missing = [p for p in hr_paths if p not in lr_by_hr]
    if missing:
        raise ValueError(f"HR files without an LR partner in {lr_root}: {_listing(missing)}")
    return [(lr_by_hr[hr], hr) for hr in hr_paths]


def make_val_pairs(
    folder: str | Path, scale: int, degradation: Degradation | None = None, *, seed: int = 0
) -> list[EvalPair]:
    """Whole-image validation pairs from HR files: HR cropped to a multiple of ``scale``, LR its
    degradation (default BI) rounded to 8 bit as stored evaluation data are.

    Random degradations draw from :func:`image_generator` (``seed``, position), so the
    validation set is the same on every call. Names are relative paths without the suffix.
    """
    degradation = BI(scale) if degradation is None else degradation
    if degradation.scale != scale:
        raise ValueError(f"degradation {degradation!r} has scale {degradation.scale}, not {scale}")
    root = Path(folder)
    out = []
    for i, path in enumerate(scan_images(root)):
        hr = torch.from_numpy(_to_float(_load_rgb8(path, scale)))
        lr = round_to_8bit(degradation(hr, image_generator(seed, i)))
        out.append(
            EvalPair(
                _relative_stem(root, path),
                np.ascontiguousarray(lr.numpy().transpose(1, 2, 0)),
                np.ascontiguousarray(hr.numpy().transpose(1, 2, 0)),
            )
        )
    return out
