"""Fitting a job into the memory limit before anything large is allocated.

The estimate (`srlab.infer.memory`) comes from the file's header; the job runs with the
upscaler's own tile when it fits, with the largest half of it that fits when the tile is
automatic (`UpscaleOptions.tile` None), and is refused in one line otherwise, saying whether
a PNG at the model's own scale (written in bands of rows, see `srlab.infer.memory`) would help.
"""

from __future__ import annotations

import weakref
from pathlib import Path

import torch

from srlab.infer.memory import (
    BANDED_FORMATS,
    ActivationCost,
    JobPlan,
    MemoryEstimate,
    activation_cost,
    estimate_job,
    format_size,
    process_memory,
    written_in_bands,
)
from srlab.infer.upscaler import Upscaler
from srlab.io import ImageError, ImageInfo

_NO_ACTIVATIONS = ActivationCost(0, 0.0)
_costs: weakref.WeakKeyDictionary[Upscaler, ActivationCost] = weakref.WeakKeyDictionary()


class JobMemoryError(ImageError):
    """A job would need more memory than it is allowed; the message says how much of each."""

    verb = "upscale"


def fit_tile(
    source: Path,
    info: ImageInfo,
    upscaler: Upscaler,
    size: tuple[int, int],
    output: tuple[str, int],
    limit: int,
) -> int:
    """The tile (LR pixels, 0 = whole image) to upscale `info`'s image to `size` (width,
    height) with, and write it as `output` (format, bit depth), within `limit` bytes of process
    memory; raises JobMemoryError naming `source` when no allowed tile fits."""
    held = process_memory()
    tiles = _candidate_tiles(upscaler, info)
    smallest = estimate(info, upscaler, tiles[-1], size, output, _NO_ACTIVATIONS)
    need = held + smallest.peak
    if need <= limit:  # else too large whatever the tile: no need to run anything
        for tile in tiles:
            need = held + estimate(info, upscaler, tile, size, output).peak
            if need <= limit:
                return tile
    raise _refusal(source, info, upscaler, tiles[-1], size, output[0], need, limit)


def _candidate_tiles(upscaler: Upscaler, info: ImageInfo) -> list[int]:
    """The upscaler's tile, then (when automatic) its halves down to the smallest allowed."""
    tiles = [upscaler.tile]
    if upscaler.options.tile is not None or not upscaler.tile:
        return tiles
    side = max(info.width, info.height)
    tile = min(upscaler.tile, side)
    while tile // 2 >= upscaler.min_tile:
        tile //= 2
        tiles.append(tile)
    return tiles


def estimate(
    info: ImageInfo,
    upscaler: Upscaler,
    tile: int,
    size: tuple[int, int],
    output: tuple[str, int],
    cost: ActivationCost | None = None,
) -> MemoryEstimate:
    """The memory of one job run with `upscaler` at `tile` (see `fit_tile`); `cost`: the
    model's activations (None: measured, once per upscaler)."""
    spec = upscaler.model.spec
    plan = JobPlan(
        scale=upscaler.scale,
        width=size[0],
        height=size[1],
        tile=tile,
        context=upscaler.context if tile else 0,
        multiple=spec.size_multiple,
        model_channels=spec.in_channels,
        ensemble=upscaler.options.ensemble,
        noise=bool(upscaler.noise) and spec.takes_noise,
        global_stats=spec.global_stats,
        on_device=upscaler.device.type == "cuda",
    )
    return estimate_job(info, plan, _cost(upscaler) if cost is None else cost, *output)


def _cost(upscaler: Upscaler) -> ActivationCost:
    """The upscaler's activation cost in host memory (float32), found once per upscaler; none
    on CUDA, where the activations live on the device."""
    if upscaler.device.type == "cuda":
        return _NO_ACTIVATIONS
    if upscaler not in _costs:
        _costs[upscaler] = activation_cost(upscaler.model, upscaler.device, torch.float32)
    return _costs[upscaler]


def _refusal(
    source: Path,
    info: ImageInfo,
    upscaler: Upscaler,
    tile: int,
    size: tuple[int, int],
    output_format: str,
    need: int,
    limit: int,
) -> JobMemoryError:
    kind = {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}[info.channels]
    tiling = f", tile {tile}" if tile else ", whole image"
    native = (info.width * upscaler.scale, info.height * upscaler.scale)
    if written_in_bands(output_format, size, native):
        why = "this PNG is already written in bands of rows"
    elif output_format in BANDED_FORMATS:
        why = "PNG is written in bands of rows only at the model's own scale, not resized"
    else:
        why = f"only PNG is written in bands of rows; {output_format} needs the whole image"
    return JobMemoryError(
        source,
        f"needs about {format_size(need)} to make {size[0]}x{size[1]} {kind} from "
        f"{info.width}x{info.height} (model x{upscaler.scale}{tiling}) but --max-memory allows "
        f"{format_size(limit)}; raise --max-memory or ask for a smaller output ({why})",
    )
