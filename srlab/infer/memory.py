"""How much memory a job will need, known from the file's header before anything is allocated.

A job's peak is the largest of its phases, each counted in bytes (float32 = 4 per sample):

- read: decoding the file (`ImageInfo.read_peak_bytes`, measured at most 2.1 × the result);
- upscale: the decoded input, the float32 accumulator H·s × W·s × C the tiles are blended into
  (C = the model's channels, 3 even for gray input), the unit noise maps (W > 0), whole-image
  statistics, and one tile in flight: its activations (`ActivationCost`, doubled), its output,
  weights and blend temporaries (twice more under the self-ensemble); then the gray mean and
  the alpha plane (MATLAB bicubic makes two intermediate copies);
- resize: shrinking to an exact size with MATLAB bicubic (its input, two intermediates of the
  first pass and three copies of the result, alpha included);
- write: the final float image, its 8/16-bit copy and the encoder's own copy (Pillow keeps 4
  bytes per RGB pixel, WebP about 8, srlab's PNG encoder a bounded block, TIFF two more copies).

A PNG at the model's own scale is written in bands as rows of tiles are finished
(`Upscaler.stream`, `srlab.io.write_png_streamed`): then upscaling and writing are one phase
that holds the decoded input, the noise maps, a band of about one tile row's window (H·s rows
become window·s) instead of the whole accumulator, and either the tile in flight or the band
being written (gray mean, alpha, its 8/16-bit copy and the encoder's block). Other formats,
and outputs resized to an exact size, still hold the whole image.

To that comes what the process already holds (its resident memory when the job is checked: the
Python runtime, PyTorch, the model) and a fixed slack. Activations are what the network itself
allocates per output pixel of a tile's window (`activation_cost`: measured for the shipped
models, measured on small inputs at run time for others); they are counted twice, since the
allocator's fragmentation made the resident peak up to 1.8 times the live tensors (G-MGBP ×4 on
a 96-pixel tile), and 16-bit runs are counted as float32. On CUDA they live on the device and
are left out of this (host memory) estimate: running out there halves the tile instead.
"""

from __future__ import annotations

import math
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from srlab.archs.calling import final_output
from srlab.io import ImageInfo
from srlab.zoo import LoadedModel

FLOAT = 4  # bytes per float32 sample
ACTIVATION_SAFETY = 2  # resident peak / live tensors: up to 1.8 measured
SLACK = 64 << 20  # Python objects, Pillow and NumPy bookkeeping, small buffers
DEFAULT_FRACTION = 0.8  # of the memory available at start, the default --max-memory
PROBE_SIDES = (24, 40)  # LR sides of the two runs that measure an unknown model
PNG_BLOCK = 40 << 20  # srlab's PNG encoder: a block of filtered rows (34 MiB measured), zlib
BANDED_FORMATS = frozenset({"PNG"})  # written a band of rows at a time (at the model's scale)

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ActivationCost:
    """Bytes a network allocates while running one tile: `fixed` plus `per_pixel` for each
    output pixel of the tile's window (window side × scale, squared)."""

    fixed: int
    per_pixel: float

    def bytes(self, output_pixels: int) -> int:
        return int(self.fixed + self.per_pixel * output_pixels)


# Float32 costs of the shipped models' builds, measured once with `measure_activations` on a
# 2-core CPU (G-MGBP ×9..×15 run its ×16 network, then shrink: their cost is ×16's per LR
# pixel, as measured at ×9); key: (architecture, sorted build options).
_GMGBP = {
    2: (674_032, 1352.1), 3: (5_935_520, 2697.4), 4: (5_935_520, 1517.3),
    5: (57_366_912, 4671.7), 6: (57_366_912, 3244.2), 7: (57_366_912, 2383.5),
    8: (57_366_912, 1824.9), 16: (618_360_640, 2434.4),
}
_GMGBP |= {s: (_GMGBP[16][0], _GMGBP[16][1] * 256 / s**2) for s in range(9, 16)}
MEASURED: dict[tuple[str, tuple[tuple[str, object], ...]], ActivationCost] = {
    **{("gmgbp", (("scale", s),)): ActivationCost(*cost) for s, cost in _GMGBP.items()},
    ("srrescgan", (("scale", 4),)): ActivationCost(209_924, 1296.8),
    ("fast_srfbn", (("blocks", 6), ("features", 64), ("scale", 16), ("steps", 4))): (
        ActivationCost(0, 526.0)
    ),
    ("bsr", (("blocks", 4), ("features", 32), ("groups", 4), ("scale", 4))): (
        ActivationCost(82_560, 280.0)
    ),
    ("ciplab", (("blocks", 2), ("features", 32), ("growth", 16), ("scale", 16))): (
        ActivationCost(0, 384.0)
    ),
}
# Architectures without weights, the same at every scale (bicubic: 19 to 28 B measured).
ANY_BUILD = {"bicubic": ActivationCost(8192, 32.0)}


@dataclass(frozen=True)
class JobPlan:
    """What a job will do: the native scale and final size, and the tile it runs with."""

    scale: int
    width: int
    height: int
    tile: int  # LR pixels, 0 = the whole image at once
    context: int  # LR pixels read around each tile
    multiple: int  # tile windows start on multiples of this
    model_channels: int
    ensemble: bool
    noise: bool
    global_stats: bool
    on_device: bool  # activations live on a CUDA device, not in host memory


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak bytes of each phase of a job (without the process's own memory); a PNG written in
    bands is written during the upscale phase, and counted there (write is then 0)."""

    read: int
    upscale: int
    resize: int
    write: int

    @property
    def peak(self) -> int:
        return max(self.read, self.upscale, self.resize, self.write) + SLACK


def written_in_bands(output_format: str, size: tuple[int, int], native: tuple[int, int]) -> bool:
    """Whether an output of `size` (width, height) is written a band of rows at a time as it is
    upscaled: PNG at the model's own scale, `native` (a resize needs the whole image)."""
    return output_format in BANDED_FORMATS and size == native


def estimate_job(
    info: ImageInfo, plan: JobPlan, cost: ActivationCost, output_format: str, bit_depth: int
) -> MemoryEstimate:
    """The memory of upscaling the image `info` describes as `plan` says, then writing it in
    `output_format` ("PNG", "JPEG", ...) at `bit_depth` (8 or 16)."""
    native = (info.width * plan.scale, info.height * plan.scale)
    if written_in_bands(output_format, (plan.width, plan.height), native):
        return _estimate_banded(info, plan, cost, bit_depth)
    colour = 1 if info.channels <= 2 else 3
    alpha = info.channels in (2, 4)
    decoded = info.decoded_bytes
    hr_pixels = info.width * plan.scale * info.height * plan.scale
    final_pixels = plan.width * plan.height
    accumulator = hr_pixels * plan.model_channels * FLOAT
    rgb_out = hr_pixels * colour * FLOAT

    tile = tile_bytes(info, plan, cost)
    noise = hr_pixels * FLOAT if plan.noise else 0
    stats = 4 * accumulator if plan.global_stats else 0
    alpha_out = 3 * max(hr_pixels, final_pixels) * FLOAT if alpha else 0
    upscale = decoded + max(
        accumulator + noise + max(stats, tile),
        accumulator + hr_pixels * FLOAT,  # the gray mean
        rgb_out + alpha_out,
    )

    resize = 0
    if (plan.width, plan.height) != native:
        middle = max(plan.height * info.width * plan.scale, plan.width * info.height * plan.scale)
        final = final_pixels * colour * FLOAT
        resize = decoded + 2 * rgb_out + 2 * middle * colour * FLOAT + 3 * final + alpha_out

    samples = final_pixels * (colour + alpha)
    write = samples * FLOAT + _encoding_bytes(output_format, bit_depth, final_pixels, samples)
    if output_format == "WEBP" and colour == 1:
        write += final_pixels * 3 * FLOAT  # WebP has no gray: the float image is repeated
    return MemoryEstimate(info.read_peak_bytes, upscale, resize, write)


def _estimate_banded(
    info: ImageInfo, plan: JobPlan, cost: ActivationCost, bit_depth: int
) -> MemoryEstimate:
    """A PNG written in bands while upscaling: one phase (counted as upscale) holds the
    input, the noise maps and the sliding band, then the tile in flight or the band being
    written."""
    colour = 1 if info.channels <= 2 else 3
    alpha = info.channels in (2, 4)
    hr_width = info.width * plan.scale
    hr_pixels = hr_width * info.height * plan.scale
    band_rows = min(_window_side(plan, info.height), info.height) * plan.scale
    band_pixels = band_rows * hr_width
    band = band_pixels * plan.model_channels * FLOAT
    noise = hr_pixels * FLOAT if plan.noise else 0
    stats = 4 * hr_pixels * plan.model_channels * FLOAT if plan.global_stats else 0
    gray_mean = band_pixels * FLOAT if colour == 1 else 0
    # Alpha: MATLAB bicubic of the band's LR rows and 3 more each side (two intermediates).
    alpha_band = 3 * (band_rows + 8 * plan.scale) * hr_width * FLOAT if alpha else 0
    quantised = band_pixels * (colour + alpha) * bit_depth // 8
    writing = gray_mean + alpha_band + quantised + PNG_BLOCK
    upscale = info.decoded_bytes + noise + band + max(stats, tile_bytes(info, plan, cost), writing)
    return MemoryEstimate(info.read_peak_bytes, upscale, 0, 0)


def _window_side(plan: JobPlan, height: int) -> int:
    """LR side of a tile's read window (the image's height when untiled)."""
    return plan.tile + 2 * plan.context + plan.multiple - 1 if plan.tile else height


def tile_bytes(info: ImageInfo, plan: JobPlan, cost: ActivationCost) -> int:
    """Host memory of one tile in flight: activations (off the device), its output, weights
    and blend temporaries, and the self-ensemble's sum."""
    if plan.tile:
        side = _window_side(plan, info.height)
        window = min(side, info.height) * min(side, info.width)
    else:
        window = info.height * info.width
    pixels = window * plan.scale**2
    outputs = pixels * (plan.model_channels * FLOAT * 3 + FLOAT)
    if plan.ensemble:
        outputs += pixels * plan.model_channels * FLOAT * 2
    activations = 0 if plan.on_device else ACTIVATION_SAFETY * cost.bytes(pixels)
    return activations + outputs


def _encoding_bytes(output_format: str, bit_depth: int, pixels: int, samples: int) -> int:
    """The integer copy of the image and the encoder's own copies (srlab's PNG encoder filters
    a block of rows at a time)."""
    if output_format == "PNG":
        return samples * bit_depth // 8 + PNG_BLOCK
    if bit_depth == 16 and output_format == "TIFF":
        return samples * 2 * 3  # to_array, then the predictor's and the encoder's copies
    per_pixel = 8 if output_format == "WEBP" else 4
    return samples + pixels * per_pixel


def activation_cost(model: LoadedModel, device: torch.device, dtype: torch.dtype) -> ActivationCost:
    """The measured cost of a shipped model's build, or one measured now on small inputs."""
    key = (model.arch, tuple(sorted(model.options.items())))
    if key in MEASURED:
        return MEASURED[key]
    if model.arch in ANY_BUILD:
        return ANY_BUILD[model.arch]
    return measure_activations(model, device, dtype)


def measure_activations(
    model: LoadedModel,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    sides: tuple[int, int] = PROBE_SIDES,
) -> ActivationCost:
    """Run the model on two small random inputs and fit fixed + per-pixel bytes to the peak
    of the tensors alive at once (the model's module must already be on `device`)."""
    peaks = []
    for side in sides:
        side = -(-side // model.spec.size_multiple) * model.spec.size_multiple
        x = torch.rand(1, model.spec.in_channels, side, side, device=device, dtype=dtype)
        with torch.inference_mode(), _LiveTensors() as live:
            final_output(model.module, model.spec, x)
        peaks.append((side * side * model.scale**2, live.peak))
    (small, small_peak), (large, large_peak) = peaks
    per_pixel = max(0.0, (large_peak - small_peak) / (large - small))
    return ActivationCost(max(0, int(large_peak - per_pixel * large)), per_pixel)


class _LiveTensors(TorchDispatchMode):
    """Tracks the bytes of tensor storages created while active and still alive; `peak` is
    the most at any moment."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, weakref.ref] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        result = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(result):
            if isinstance(tensor, torch.Tensor) and tensor.layout == torch.strided:
                self._track(tensor.untyped_storage())
        return result

    def _track(self, storage: torch.UntypedStorage) -> None:
        key = storage._cdata
        if key in self._storages:
            return
        size = storage.nbytes()
        self.live += size
        self.peak = max(self.peak, self.live)
        self._storages[key] = weakref.ref(storage, lambda _, k=key, n=size: self._free(k, n))

    def _free(self, key: int, size: int) -> None:
        self.live -= size
        self._storages.pop(key, None)


def parse_size(text: str) -> int:
    """Bytes of a size such as "4G", "512M", "1.5GiB" or "800000000" (units of 1024)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size such as 4G, 512M or 1.5G")
    value = float(match[1]) * _UNITS[match[2].lower()]
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"size {text!r} must be at least 1 byte")
    return int(value)


def format_size(size: int) -> str:
    """ "1.5 GiB", "512.0 MiB", ... for messages."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def process_memory() -> int:
    """This process's resident memory now (0 where it cannot be read)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def available_memory() -> int | None:
    """Memory the system can give now: MemAvailable, within a cgroup (container) limit; None
    where neither can be read."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    limit = _cgroup_room()
    if limit is not None:
        available = limit if available is None else min(available, limit)
    return available


def _cgroup_room() -> int | None:
    """What the cgroup v2 memory limit leaves (None without a limit)."""
    try:
        root = Path("/sys/fs/cgroup")
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((root / "memory.current").read_text()))
    except (OSError, ValueError):
        return None


def default_memory_limit() -> int | None:
    """What the process may use by default: what it holds plus 80 % of what is available."""
    available = available_memory()
    if available is None:
        return None
    return process_memory() + int(available * DEFAULT_FRACTION)
