"""`srlab models`: the shipped models, their scales, licences and what each is for."""

from __future__ import annotations

import argparse

from srlab.archs import ARCHITECTURES
from srlab.zoo import CATALOG, DEFAULT_MODEL, catalogue_facts


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "models",
        help="list the shipped models",
        description="List the models srlab ships (names for --model), with their scales, "
        "licences and sources. docs/models.md has their scores.",
    )
    p.add_argument("--archs", action="store_true",
                   help="list the architectures instead (names for configs and model sidecars)")
    p.set_defaults(run=run)


def scales_text(name: str) -> str:
    """The factors a shipped model runs at: its trained one, or its architecture's range."""
    arch, options = catalogue_facts(name)
    if "scale" in options:
        return f"x{options['scale']}"
    spec = ARCHITECTURES[arch].spec
    scales = sorted(spec.scales) if spec is not None else []
    if not scales:
        return "any"
    if scales == list(range(scales[0], scales[-1] + 1)) and len(scales) > 2:
        return f"x{scales[0]}-x{scales[-1]}"
    return ", ".join(f"x{s}" for s in scales)


def run(args: argparse.Namespace) -> int:
    if args.archs:
        for name, arch in ARCHITECTURES.items():
            role = "super-resolution" if arch.spec is not None else "helper (e.g. discriminator)"
            print(f"{name}  [{role}]\n    {arch.summary}")
        return 0
    for name, entry in CATALOG.items():
        marker = " (default)" if name == DEFAULT_MODEL else ""
        print(f"{name}{marker}  [{scales_text(name)}]  {entry.license}")
        print(f"    {entry.description}")
        print(f"    source: {entry.source}")
    return 0
