"""The shipped models as the page offers them: which to pick for which photo, and at what scale.

Read from the catalogue and the weight files' headers only; no network is built to list them.
Only catalogue names are accepted: no request can make the server read a model file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

from srlab.archs import ARCHITECTURES, ModelSpec
from srlab.zoo import CATALOG, DEFAULT_MODEL, DEFAULT_SCALE, catalogue_facts

PAGE_SCALES = (2, 3, 4, 8, 16)  # the factors the page lists for models that run at many
MAX_SCALE = 16

# When to pick each model, in a line (docs/models.md has the measurements behind them).
_WHEN = {
    "gmgbp-r3": "Clean photos (the default); slide W towards 1 for sharper, invented texture.",
    "srrescgan-real-x4": "Noisy or JPEG-compressed photos (low light, the web); "
    "ensemble for the best PSNR, without it the most natural look.",
    "srrescycgan-srlab-x4": "Compressed or blurred real-world photos (trained here on a short "
    "CPU run; better than the release on JPEG).",
    "fast-srfbn-srlab-x16": "x16 only: our small Fast-SRFBN (the default runs x16 too, and "
    "scores higher).",
    "gmgbp-r1": "Clean photos: the authors' Region 1 model (the default, R3, scores higher).",
    "gmgbp-r2": "Clean photos: the authors' Region 2 model (the default, R3, scores higher).",
    "gmgbp-srlab-x4": "Clean photos: G-MGBP trained here from scratch, for reproducibility.",
    "bicubic": "Classical interpolation: instant, invents nothing; any scale.",
}
_ORDER = ("gmgbp-r3", "srrescgan-real-x4", "srrescycgan-srlab-x4", "fast-srfbn-srlab-x16")


@dataclass(frozen=True)
class ModelChoice:
    """One shipped model as the page and `GET /api/models` describe it."""

    name: str
    when: str
    description: str
    license: str
    scales: tuple[int, ...]  # what the page offers
    default_scale: int
    takes_noise: bool
    default: bool
    fixed_scale: bool  # trained for one factor only

    def accepts_scale(self, scale: int) -> bool:
        """Whether the model runs at this factor (any supported one up to x16, not only the
        page's list)."""
        if self.fixed_scale:
            return scale in self.scales
        spec = _spec(self.name)
        return 1 <= scale <= MAX_SCALE and spec.supports_scale(scale)

    def as_json(self) -> dict:
        return asdict(self)


@cache
def model_choices() -> tuple[ModelChoice, ...]:
    """Every catalogue model, the default first, then those for degraded photos and x16."""
    names = [n for n in _ORDER if n in CATALOG]
    names += [n for n in CATALOG if n not in names]
    return tuple(_choice(name) for name in names)


def find_choice(name: str | None) -> ModelChoice | None:
    """The choice named `name` ("default" or empty: the default model); None if unknown."""
    wanted = DEFAULT_MODEL if name in (None, "", "default") else name
    return next((c for c in model_choices() if c.name == wanted), None)


@cache
def _spec(name: str) -> ModelSpec:
    arch, options = catalogue_facts(name)
    spec = ARCHITECTURES[arch].spec_for(options)
    assert spec is not None, f"{name} is in the catalogue, so it super-resolves"
    return spec


def _choice(name: str) -> ModelChoice:
    _arch, options = catalogue_facts(name)
    spec = _spec(name)
    fixed = "scale" in options
    scales = (options["scale"],) if fixed else tuple(
        s for s in PAGE_SCALES if spec.supports_scale(s)
    )
    entry = CATALOG[name]
    return ModelChoice(
        name=name,
        when=_WHEN.get(name, entry.description),
        description=entry.description,
        license=entry.license,
        scales=scales,
        default_scale=DEFAULT_SCALE if DEFAULT_SCALE in scales else scales[0],
        takes_noise=spec.takes_noise,
        default=name == DEFAULT_MODEL,
        fixed_scale=fixed,
    )
