"""How a model runs (tiles, device, precision, noise, seed), as `srlab upscale`, `eval` and
`sweep` all take it: one definition and one check of each option, one `UpscaleOptions`."""

from __future__ import annotations

import argparse

from srlab.cli.arg_types import finite_number, tile_size, whole_number
from srlab.infer.options import DEFAULT_OVERLAP, DEFAULT_SEED, UpscaleOptions

MAX_TILE = 1 << 16
MAX_SEED = 2**64 - 1


def add_model_options(p: argparse.ArgumentParser, *, seed_help: str, noise: bool = True) -> None:
    """--tile, --tile-overlap, --ensemble, --device, --half, --seed and, when `noise`, --noise
    (a command that sets the noise itself leaves it out; `model_options` then reads None)."""
    p.add_argument("--tile", type=tile_size(MAX_TILE), default=None, metavar="N|auto",
                   help="tile size in input pixels; 0 = whole image at once; auto (default): "
                        "the model's (e.g. 256 for gmgbp at x4, 512 for bicubic), halved "
                        "until the job fits in memory")
    p.add_argument("--tile-overlap", type=whole_number(0, MAX_TILE // 2), default=DEFAULT_OVERLAP,
                   help="context around each tile in input pixels, at least the model's "
                        "receptive radius (default: %(default)s)")
    p.add_argument("--ensemble", action="store_true", help="x8 self-ensemble (8x slower)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    p.add_argument("--half", action=argparse.BooleanOptionalAction, default=None,
                   help="16-bit floats: float16 on CUDA, bfloat16 on CPUs that support it "
                        "natively; --no-half forces float32 (default: bfloat16 for models "
                        "measured to lose nothing by it, such as gmgbp, where the CPU has it)")
    if noise:
        p.add_argument("--noise", type=finite_number(0.0, 1.0), default=None, metavar="W",
                       help="noise amplitude of models with a noise input (gmgbp: 0 = faithful, "
                            "the default; up to 1 = sharper, invented texture)")
    else:
        p.set_defaults(noise=None)
    p.add_argument("--seed", type=whole_number(0, MAX_SEED), default=DEFAULT_SEED,
                   help=f"{seed_help} (default: %(default)s)")


def model_options(args: argparse.Namespace) -> UpscaleOptions:
    """The options `add_model_options` parsed, as the upscaler takes them."""
    return UpscaleOptions(
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        ensemble=args.ensemble,
        device=args.device,
        half=args.half,
        noise=args.noise,
        seed=args.seed,
    )
