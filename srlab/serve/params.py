"""The settings of one upscale request (model, scale, W, seed, ensemble), checked.

Shared by the page's job endpoint (JSON) and `POST /api/upscale` (form fields), so both
refuse the same things with the same one-line messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from srlab.serve.cache import ResultKey
from srlab.serve.choices import ModelChoice, find_choice
from srlab.serve.uploads import StoredUpload

MAX_SEED = 2**63 - 1


class ParamError(ValueError):
    """A request setting the server cannot honour (HTTP 400); the message says which and why."""


class OutputTooLarge(ParamError):
    """The result would exceed the output pixel limit (HTTP 413)."""


@dataclass(frozen=True)
class UpscaleParams:
    choice: ModelChoice
    scale: int
    noise: float
    seed: int
    ensemble: bool

    def key(self, upload: StoredUpload) -> ResultKey:
        return ResultKey(
            upload.id, self.choice.name, self.scale, self.noise, self.seed, self.ensemble
        )


def parse_params(values: Mapping[str, object]) -> UpscaleParams:
    """Checked settings from form fields or JSON; missing ones take the model's defaults."""
    choice = find_choice(_text(values.get("model")))
    if choice is None:
        raise ParamError(f"unknown model {values.get('model')!r}; GET /api/models lists them")
    scale = _number(values, "scale", int, choice.default_scale)
    if not choice.accepts_scale(scale):
        offered = ", ".join(f"x{s}" for s in choice.scales)
        raise ParamError(f"{choice.name} does not run at x{scale} (it offers {offered})")
    noise = _number(values, "noise", float, 0.0)
    if not (math.isfinite(noise) and 0.0 <= noise <= 1.0):
        raise ParamError(f"noise must be between 0 and 1, got {noise}")
    if noise and not choice.takes_noise:
        raise ParamError(f"{choice.name} has no noise input; leave noise out or at 0")
    seed = _number(values, "seed", int, 0)
    if not 0 <= seed <= MAX_SEED:
        raise ParamError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    ensemble = _flag(values.get("ensemble"))
    if ensemble and noise:
        raise ParamError("ensemble averages away the texture that noise adds; use it at W = 0")
    return UpscaleParams(choice, scale, noise, seed, ensemble)


def check_output_size(upload: StoredUpload, params: UpscaleParams, max_pixels: int) -> None:
    """OutputTooLarge when the result would have more than `max_pixels` pixels."""
    width, height = upload.width * params.scale, upload.height * params.scale
    if width * height > max_pixels:
        raise OutputTooLarge(
            f"{upload.name} at x{params.scale} would be {width} x {height} = "
            f"{width * height:,} pixels, more than this server's limit of {max_pixels:,} "
            "(srlab serve --max-output-pixels); choose a smaller scale"
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip()


def _number(values: Mapping[str, object], name: str, kind: type, default):
    value = values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise ParamError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        raise ParamError(f"{name} must be {'a number' if kind is float else 'an integer'}, "
                         f"got {value!r}") from None
    return number


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "on", "yes"} if value is not None else False
