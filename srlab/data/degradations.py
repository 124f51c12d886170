"""Seeded, composable HR -> LR degradation models (docs/architectures.md §1.3).

Every degradation is a small dataclass called as ``op(hr, generator)`` on float 0-1 tensors of
shape N x C x H x W (or C x H x W); ``op.scale`` is the HR/LR size ratio. Ops that shrink need H
and W divisible by their scale (use :func:`modcrop`), so LR pixel j always covers HR pixels
s*j .. s*j + s - 1 and the geometry of every op below is exact. Random ops draw every choice from
the given ``torch.Generator`` (torch's global generator when None), so one seed gives one output.
"""

from __future__ import annotations

import io
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from srlab.ops.resize import imresize

__all__ = [
    "BD",
    "BI",
    "DN",
    "JPEG",
    "Compose",
    "Degradation",
    "RealWorld",
    "RoundTo8Bit",
    "make_degradation",
    "modcrop",
    "round_to_8bit",
]


def modcrop(x: np.ndarray | torch.Tensor, scale: int) -> np.ndarray | torch.Tensor:
    """Crop the bottom/right so height and width are multiples of ``scale`` (MATLAB ``modcrop``).

    Tensors are (..., H, W); numpy arrays are H x W or H x W x C images.
    """
    _check_scale(scale)
    if isinstance(x, np.ndarray):
        h, w = x.shape[0], x.shape[1]
        return x[: h - h % scale, : w - w % scale]
    h, w = x.shape[-2], x.shape[-1]
    return x[..., : h - h % scale, : w - w % scale]


def round_to_8bit(x: torch.Tensor) -> torch.Tensor:
    """Quantise 0-1 values to multiples of 1/255, halves up, saturating (as MATLAB's uint8)."""
    return torch.floor(x * 255 + 0.5).clamp(0, 255) / 255


def _check_scale(scale: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")


def _check_range(name: str, bounds: tuple[float, float], low: float, high: float) -> None:
    lo, hi = bounds
    if not (low <= lo <= hi <= high):
        raise ValueError(f"{name} must satisfy {low} <= low <= high <= {high}, got {bounds!r}")


def _check_prob(name: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")


class Degradation(ABC):
    """Base of all degradations: shape and divisibility checks around :meth:`apply`."""

    scale: int

    def __call__(self, hr: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Degrade ``hr`` (N x C x H x W or C x H x W, float 0-1); returns the same layout."""
        if not isinstance(hr, torch.Tensor) or not hr.is_floating_point() or hr.ndim not in (3, 4):
            raise ValueError("expected a float tensor of shape N x C x H x W or C x H x W")
        h, w = hr.shape[-2:]
        if h % self.scale or w % self.scale:
            raise ValueError(
                f"{type(self).__name__}: HR size {h}x{w} is not divisible by scale {self.scale};"
                " modcrop it first"
            )
        batch = hr if hr.ndim == 4 else hr[None]
        out = self.apply(batch, generator)
        return out if hr.ndim == 4 else out[0]

    @abstractmethod
    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Degrade a checked N x C x H x W batch."""


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Float64 uniform [0, 1) numbers on the generator's device (CPU for the global one)."""
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(shape, generator=generator, device=device, dtype=torch.float64)


def _randn(
    shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """Standard normal numbers drawn on the generator's device, returned like ``like``."""
    device = generator.device if generator is not None else torch.device("cpu")
    n = torch.randn(shape, generator=generator, device=device, dtype=torch.float64)
    return n.to(device=like.device, dtype=like.dtype)


def _gaussian_kernels(
    sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, size: int
) -> torch.Tensor:
    """Normalised (possibly rotated, anisotropic) Gaussian kernels, one size x size per entry.

    Samples sit at offsets -(size-1)/2 .. (size-1)/2 as in MATLAB ``fspecial('gaussian')``,
    including its rule of zeroing values below eps * max before normalising.
    """
    half = (size - 1) / 2
    offsets = torch.arange(size, dtype=torch.float64, device=sigma_x.device) - half
    yy, xx = torch.meshgrid(offsets, offsets, indexing="ij")
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    along = cos * xx + sin * yy
    across = -sin * xx + cos * yy
    sx, sy = sigma_x[:, None, None], sigma_y[:, None, None]
    k = torch.exp(-0.5 * ((along / sx) ** 2 + (across / sy) ** 2))
    peak = k.amax(dim=(1, 2), keepdim=True)
    k = torch.where(k < torch.finfo(torch.float64).eps * peak, 0, k)
    return k / k.sum(dim=(1, 2), keepdim=True)


def _filter_replicate(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each image of an N x C x H x W batch with its own kernel (N x k x k, or 1 x k x k
    shared), replicate borders, centre at floor((k + 1) / 2) as MATLAB ``imfilter``."""
    n, c, h, w = x.shape
    size = kernels.shape[-1]
    before, after = (size - 1) // 2, size // 2
    padded = F.pad(x.reshape(1, n * c, h, w), (before, after, before, after), mode="replicate")
    weight = (
        kernels.to(device=x.device, dtype=x.dtype).expand(n, size, size).repeat_interleave(c, dim=0)
    )
    return F.conv2d(padded, weight[:, None], groups=n * c).view(n, c, h, w)


def _jpeg_roundtrip(img: torch.Tensor, quality: int, subsampling: str = "4:2:0") -> torch.Tensor:
    """Encode one C x H x W 0-1 image (C = 1 or 3) as 8-bit JPEG with Pillow and decode it."""
    if img.shape[0] not in (1, 3):
        raise ValueError(f"JPEG needs 1 or 3 channels, got {img.shape[0]}")
    pixels = (round_to_8bit(img.detach()) * 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    mode = "L" if img.shape[0] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(
        buffer, format="JPEG", quality=int(quality), subsampling=subsampling
    )
    buffer.seek(0)
    decoded = np.atleast_3d(np.asarray(Image.open(buffer).convert(mode)))
    out = torch.from_numpy(decoded.transpose(2, 0, 1).copy())
    return (out.to(img.dtype) / 255).to(img.device)


@dataclass(frozen=True)
class BI(Degradation):
    """MATLAB bicubic downsampling by 1/scale (antialiased, float, not rounded)."""

    scale: int

    def __post_init__(self) -> None:
        _check_scale(self.scale)

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return imresize(hr, 1 / self.scale)


@dataclass(frozen=True)
class BD(Degradation):
    """Gaussian blur then nearest decimation (RDN's BD model; the published protocol is x3).

    Blur: ``fspecial('gaussian', kernel_size, sigma)`` with ``imfilter(..., 'replicate')``.
    Decimation: RDN calls MATLAB ``imresize(blurred, 1/s, 'nearest')``, which keeps 0-based rows
    and columns s//2, s//2 + s, ... (x3: 1, 4, 7, ...; x2: 1, 3, ...; x4: 2, 6, ...). For odd s
    that is the centre of each s x s block, aligned with BI; for even s it is 0.5 HR pixel past
    the block centre, exactly as MATLAB's nearest rule rounds. srlab keeps MATLAB's choice.
    """

    scale: int
    sigma: float = 1.6
    kernel_size: int = 7

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma!r}")
        if not (isinstance(self.kernel_size, int) and self.kernel_size >= 1):
            raise ValueError(f"kernel_size must be a positive integer, got {self.kernel_size!r}")

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        sigma = torch.tensor([self.sigma], dtype=torch.float64, device=hr.device)
        kernel = _gaussian_kernels(sigma, sigma, torch.zeros_like(sigma), self.kernel_size)
        blurred = _filter_replicate(hr, kernel)
        start = self.scale // 2
        return blurred[..., start :: self.scale, start :: self.scale]


@dataclass(frozen=True)
class DN(Degradation):
    """BI downsampling plus additive white Gaussian noise of std ``sigma`` (0-1 scale), clipped.

    RDN's DN model adds sigma = 30/255 noise and stores uint8, which saturates to 0..255; srlab
    clips to 0..1 to match that, and leaves rounding to :class:`RoundTo8Bit`.
    """

    scale: int
    sigma: float = 30 / 255

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be non-negative, got {self.sigma!r}")

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        lr = imresize(hr, 1 / self.scale)
        noise = _randn(tuple(lr.shape), generator, lr)
        return (lr + self.sigma * noise).clamp(0, 1)


@dataclass(frozen=True)
class JPEG(Degradation):
    """JPEG encode/decode of each image through Pillow at ``quality`` (size kept, 8-bit output)."""

    quality: int = 75
    subsampling: str = "4:2:0"
    scale: int = field(default=1, init=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.quality, int) and 1 <= self.quality <= 100):
            raise ValueError(f"quality must be an integer in 1..100, got {self.quality!r}")
        if self.subsampling not in ("4:4:4", "4:2:2", "4:2:0"):
            raise ValueError(f"subsampling must be 4:4:4, 4:2:2 or 4:2:0, got {self.subsampling!r}")

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return torch.stack([_jpeg_roundtrip(img, self.quality, self.subsampling) for img in hr])


@dataclass(frozen=True)
class RoundTo8Bit(Degradation):
    """Quantise to 8 bit (what MATLAB does when it writes uint8 LR images)."""

    scale: int = field(default=1, init=False)

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return round_to_8bit(hr)


@dataclass(frozen=True)
class RealWorld(Degradation):
    """Randomised blur -> bicubic down -> noise -> JPEG chain for real-image SR (SRResCycGAN).

    Each image of a batch draws its own parameters, all from the given generator:
    - blur: Gaussian, ``blur_kernel_size`` square, std per axis uniform in ``blur_sigma``
      (HR pixels); anisotropic with probability ``anisotropic_prob`` (two independent stds,
      rotation uniform in [0, pi)), else isotropic; replicate borders;
    - MATLAB bicubic down by 1/scale;
    - Gaussian noise with std uniform in ``noise_sigma`` (0-1 scale), the same for all channels
      (grey noise) with probability ``gray_noise_prob``; with probability ``poisson_prob`` also
      shot noise Poisson(x * peak) / peak, ``peak`` (photons at white) log-uniform in
      ``poisson_peak``; then clipped to 0..1;
    - with probability ``jpeg_prob`` JPEG at an integer quality uniform in ``jpeg_quality``.
    The defaults target x4 photos (blur up to 3 HR pixels, noise up to 25/255, quality >= 30).
    """

    scale: int
    blur_kernel_size: int = 21
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    anisotropic_prob: float = 0.5
    noise_sigma: tuple[float, float] = (1 / 255, 25 / 255)
    gray_noise_prob: float = 0.4
    poisson_prob: float = 0.3
    poisson_peak: tuple[float, float] = (100.0, 2000.0)
    jpeg_prob: float = 1.0
    jpeg_quality: tuple[int, int] = (30, 95)

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        if not (isinstance(self.blur_kernel_size, int) and self.blur_kernel_size >= 1):
            raise ValueError(
                f"blur_kernel_size must be a positive integer, got {self.blur_kernel_size!r}"
            )
        _check_range("blur_sigma", self.blur_sigma, 1e-6, math.inf)
        _check_range("noise_sigma", self.noise_sigma, 0.0, math.inf)
        _check_range("poisson_peak", self.poisson_peak, 1e-6, math.inf)
        _check_range("jpeg_quality", self.jpeg_quality, 1, 100)
        for name in ("anisotropic_prob", "gray_noise_prob", "poisson_prob", "jpeg_prob"):
            _check_prob(name, getattr(self, name))

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        # One row of uniforms per image, in a fixed column order, so one seed -> one chain.
        u = _uniform((hr.shape[0], 10), generator)
        lr = imresize(self._blur(hr, u[:, :4]), 1 / self.scale)
        lr = self._noise(lr, u[:, 4:8], generator)
        quality = self.jpeg_quality[0] + torch.floor(
            u[:, 9] * (self.jpeg_quality[1] - self.jpeg_quality[0] + 1)
        ).clamp(max=self.jpeg_quality[1] - self.jpeg_quality[0])
        images = [
            _jpeg_roundtrip(img, int(q)) if take < self.jpeg_prob else img
            for img, take, q in zip(lr, u[:, 8].tolist(), quality.tolist(), strict=True)
        ]
        return torch.stack(images)

    def _blur(self, hr: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        lo, hi = self.blur_sigma
        sigma_x = lo + (hi - lo) * u[:, 1]
        anisotropic = u[:, 0] < self.anisotropic_prob
        sigma_y = torch.where(anisotropic, lo + (hi - lo) * u[:, 2], sigma_x)
        theta = torch.where(anisotropic, math.pi * u[:, 3], 0.0)
        return _filter_replicate(
            hr, _gaussian_kernels(sigma_x, sigma_y, theta, self.blur_kernel_size)
        )

    def _noise(
        self, lr: torch.Tensor, u: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        n, c, h, w = lr.shape
        lo, hi = self.noise_sigma
        sigma = (lo + (hi - lo) * u[:, 0]).to(lr).view(n, 1, 1, 1)
        gray = (u[:, 1] < self.gray_noise_prob).to(lr.device).view(n, 1, 1, 1)
        noise = _randn((n, c, h, w), generator, lr)
        noise = torch.where(gray, noise[:, :1].expand(n, c, h, w), noise)
        noisy = lr + sigma * noise
        shot_taken = (u[:, 2] < self.poisson_prob).to(lr.device).view(n, 1, 1, 1)
        if shot_taken.any():
            log_lo, log_hi = (math.log(p) for p in self.poisson_peak)
            peak = torch.exp(log_lo + (log_hi - log_lo) * u[:, 3]).to(lr).view(n, 1, 1, 1)
            clean = lr.clamp(0, 1)
            shot = _poisson(clean * peak, generator) / peak - clean
            noisy = torch.where(shot_taken, noisy + shot, noisy)
        return noisy.clamp(0, 1)


def _poisson(rate: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Poisson samples for ``rate``, drawn on the generator's device."""
    device = generator.device if generator is not None else torch.device("cpu")
    counts = torch.poisson(rate.detach().to(device=device, dtype=torch.float64), generator)
    return counts.to(device=rate.device, dtype=rate.dtype)


class Compose(Degradation):
    """Apply degradations in order; the scale is the product of theirs."""

    def __init__(self, *ops: Degradation) -> None:
        if not ops:
            raise ValueError("Compose needs at least one degradation")
        self.ops = ops
        self.scale = math.prod(op.scale for op in ops)

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.ops))})"

    def apply(self, hr: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        for op in self.ops:
            hr = op(hr, generator)
        return hr


def _jpeg_after_bicubic(scale: int, **kw) -> Degradation:
    """JPEG at scale 1, else BI then JPEG (compressed LR)."""
    return JPEG(**kw) if scale == 1 else Compose(BI(scale), JPEG(**kw))


def _sensor_noise_8(scale: int, **kw) -> Degradation:
    """SRResCycGAN Table 1's "sensor noise": BI, then Gaussian noise of std 8 (0–255 scale)."""
    return DN(scale, **{"sigma": 8 / 255, **kw})


def _jpeg_30(scale: int, **kw) -> Degradation:
    """SRResCycGAN Table 1's "JPEG compression": BI, then JPEG at quality 30."""
    return _jpeg_after_bicubic(scale, **{"quality": 30, **kw})


_REGISTRY: dict[str, Callable[..., Degradation]] = {
    "bi": BI,
    "bd": BD,
    "dn": DN,
    "jpeg": _jpeg_after_bicubic,
    "realworld": RealWorld,
    "noise8": _sensor_noise_8,
    "jpeg30": _jpeg_30,
}


def make_degradation(name: str, scale: int, **kw) -> Degradation:
    """Build a degradation by name: "BI", "BD", "DN", "JPEG", "realworld", or the presets
    "noise8" (BI + noise of std 8/255) and "jpeg30" (BI + JPEG q30) (case-insensitive).

    "JPEG" with scale > 1 means BI down by ``scale`` then JPEG; keyword arguments go to the op.
    """
    try:
        factory = _REGISTRY[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown degradation {name!r}; known: BI, BD, DN, JPEG, realworld, noise8, jpeg30"
        ) from None
    return factory(scale, **kw)
