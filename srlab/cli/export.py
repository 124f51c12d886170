"""`srlab export`: a model as ONNX (checked against onnxruntime) or as srlab safetensors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from srlab.zoo import load_model
from srlab.zoo.export import check_onnx, export_onnx, export_safetensors

CHECK_TOLERANCE = 1e-4


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "export",
        help="export a model to ONNX or to a self-describing .safetensors file",
        description=(
            "ONNX: inputs lr (N x 3 x H x W, 0..1, any size) and, for noise-driven models, "
            "noise_amplitude and the unit noise maps noise_0.. ; output sr (clamped to 0..1). "
            "The graph is checked against PyTorch with onnxruntime when it is installed. "
            "safetensors: weights plus their architecture, e.g. to convert an authors' release."
        ),
    )
    p.add_argument("--model", default="default", help="catalogue name or model file")
    p.add_argument("--format", required=True, choices=("onnx", "safetensors"))
    p.add_argument("--scale", type=int, default=None, help="factor (default: the model's)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    p.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, scale=args.scale)
    if args.format == "safetensors":
        export_safetensors(model, args.output, overwrite=args.overwrite)
        print(f"srlab export: wrote {args.output}", file=sys.stderr)
        return 0
    export_onnx(model, args.output, overwrite=args.overwrite)
    try:
        error = check_onnx(model, args.output)
    except ImportError:
        print(f"srlab export: wrote {args.output} (onnxruntime not installed: unchecked)",
              file=sys.stderr)
        return 0
    verdict = "ok" if error <= CHECK_TOLERANCE else "MISMATCH"
    print(f"srlab export: wrote {args.output}; onnxruntime vs PyTorch max |diff| {error:.2e} "
          f"({verdict})", file=sys.stderr)
    return 0 if error <= CHECK_TOLERANCE else 1
