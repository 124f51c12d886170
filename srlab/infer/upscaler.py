"""Upscale whole images with any loaded model: tiles, blending, self-ensemble, precision."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from srlab.infer.ensemble import self_ensemble
from srlab.infer.precision import inference_dtype, resolve_device
from srlab.infer.tiling import plan_tiles
from srlab.io import DecodedImage
from srlab.ops.resize import imresize
from srlab.zoo import LoadedModel

DEFAULT_OVERLAP = 16
DEFAULT_SEED = 0


class Upscaler:
    """Runs a model over an image tile by tile, holding only one tile's activations at a time.

    The output is accumulated in a single float32 H·s × W·s × C array. Grayscale images go
    through colour models as three equal channels and come back as their channel mean; alpha
    is upscaled separately with MATLAB bicubic (clamped), so transparency edges stay smooth
    and no network invents texture in them. The model's module is moved to the chosen device
    and memory format in place; a lower precision works on a copy, so the caller's float32
    weights are never rounded.

    `tile=None` takes the model's default tile size (0 runs whole images). `half=None` lets
    the model decide its precision (bfloat16 for half-safe models on CPUs with native support),
    True asks for 16-bit floats and False for float32. For models with a
    noise input, `noise` is the amplitude W (default 0); each image's noise maps are drawn
    once from a generator seeded with `seed` and every tile uses its part of them, so tiles
    agree and the same seed gives the same picture.
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        tile: int | None = None,
        tile_overlap: int = DEFAULT_OVERLAP,
        ensemble: bool = False,
        device: str = "cpu",
        half: bool | None = None,
        noise: float | None = None,
        seed: int = DEFAULT_SEED,
    ) -> None:
        if tile is None:
            tile = model.spec.default_tile(model.scale)
        if tile < 0:
            raise ValueError(f"tile size must be >= 0 (0 disables tiling), got {tile}")
        if noise is not None and not model.spec.takes_noise:
            raise ValueError(f"model {model.name!r} has no noise input; drop --noise")
        if noise is not None and not noise >= 0:
            raise ValueError(f"noise amplitude must be >= 0, got {noise}")
        if ensemble and noise:
            raise ValueError(
                "self-ensemble averages away the texture that noise adds; use it with W = 0"
            )
        if tile and tile_overlap > tile // 2:
            raise ValueError(
                f"tile overlap ({tile_overlap}) must be at most half the tile size ({tile})"
            )
        self.model = model
        self.tile = tile
        self.overlap = tile_overlap
        self.ensemble = ensemble
        self.noise = noise or 0.0
        self.seed = seed
        self.device = resolve_device(device)
        self.dtype = inference_dtype(self.device, half, model.spec.half_safe)
        module = model.module.eval().to(self.device)
        if any(p.dtype != self.dtype for p in module.parameters()):
            module = copy.deepcopy(module).to(dtype=self.dtype)
        self.module = module.to(memory_format=torch.channels_last)

    @property
    def scale(self) -> int:
        return self.model.scale

    def upscale(
        self, image: DecodedImage, on_tile: Callable[[], None] | None = None
    ) -> DecodedImage:
        """A new DecodedImage `scale` times larger, same channels, alpha, bit depth, ICC
        profile and EXIF."""
        rgb = self.upscale_array(image.rgb, on_tile)
        alpha = None if image.alpha is None else upscale_alpha(image.alpha, self.scale)
        return DecodedImage(
            rgb=rgb,
            alpha=alpha,
            bit_depth=image.bit_depth,
            format=image.format,
            path=None,
            icc_profile=image.icc_profile,
            exif=image.exif,
        )

    def upscale_array(
        self, rgb: np.ndarray, on_tile: Callable[[], None] | None = None
    ) -> np.ndarray:
        """H×W×C float32 (C = 1 or 3, values 0..1) → H·s×W·s×C float32."""
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise ValueError(f"expected an H×W×1 or H×W×3 array, got shape {rgb.shape}")
        gray = rgb.shape[2] == 1
        lr = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        if gray:
            lr = lr.expand(self.model.spec.in_channels, -1, -1)
        height, width = lr.shape[-2:]
        s = self.scale
        out = np.zeros((height * s, width * s, lr.shape[0]), dtype=np.float32)
        tile = self.tile or max(height, width)
        overlap = self.overlap if self.tile else 0
        noise_maps = self._draw_noise(height, width)
        stats = self._image_statistics(lr)
        for t in plan_tiles(height, width, tile, overlap, s):
            rows = slice(t.rows.read_start, t.rows.read_stop)
            cols = slice(t.cols.read_start, t.cols.read_stop)
            maps = None
            if noise_maps is not None:
                maps = self.module.crop_noise(
                    noise_maps, rows.start, cols.start, rows.stop - rows.start,
                    cols.stop - cols.start,
                )
            sr = self._run(lr[:, rows, cols], maps, stats)
            out_rows = slice(rows.start * s, rows.stop * s)
            out_cols = slice(cols.start * s, cols.stop * s)
            out[out_rows, out_cols] += sr * t.weights[:, :, None]
            if on_tile is not None:
                on_tile()
        np.clip(out, 0.0, 1.0, out=out)
        return out.mean(axis=2, keepdims=True) if gray else out

    def _draw_noise(self, height: int, width: int) -> list[torch.Tensor] | None:
        """Unit noise maps for the whole image (None when the model takes none or W = 0)."""
        if not self.model.spec.takes_noise or self.noise == 0:
            return None
        generator = torch.Generator().manual_seed(self.seed)
        return self.module.draw_noise(1, height, width, generator=generator)

    def _image_statistics(self, lr: torch.Tensor) -> dict[str, torch.Tensor]:
        """Whole-image statistics that every tile must share (e.g. SRResCGAN's noise level)."""
        if not self.model.spec.global_stats:
            return {}
        with torch.inference_mode():
            return self.module.image_statistics(lr.unsqueeze(0).to(self.device, self.dtype))

    def _run(
        self,
        lr: torch.Tensor,
        noise_maps: list[torch.Tensor] | None,
        stats: dict[str, torch.Tensor],
    ) -> np.ndarray:
        """One C×h×w LR tile through the model (with ensemble) → h·s×w·s×C float32 array."""
        x = lr.unsqueeze(0).to(self.device, self.dtype)
        x = x.contiguous(memory_format=torch.channels_last)

        def forward(batch: torch.Tensor) -> torch.Tensor:
            return self._forward(batch, noise_maps, stats)

        with torch.inference_mode():
            sr = self_ensemble(forward, x) if self.ensemble else forward(x).float()
        return sr[0].permute(1, 2, 0).cpu().numpy()

    def _forward(
        self,
        x: torch.Tensor,
        noise_maps: list[torch.Tensor] | None,
        stats: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """The model on one batch, padded to its size multiple and cropped back."""
        h, w = x.shape[-2:]
        m = self.model.spec.size_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        kwargs: dict = dict(stats)
        if self.model.spec.multi_output:
            kwargs["last_only"] = True
        if self.model.spec.takes_noise:
            kwargs |= {"noise": self.noise, "noise_maps": noise_maps}
        y = self.module(x, **kwargs)
        if self.model.spec.multi_output:
            y = y[-1]
        return y[..., : h * self.scale, : w * self.scale]


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """Alpha plane enlarged with MATLAB bicubic and clamped to 0..1."""
    out = imresize(torch.from_numpy(np.ascontiguousarray(alpha, np.float32))[None], scale=scale)
    return out[0].clamp_(0.0, 1.0).numpy()
