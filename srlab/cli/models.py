"""`srlab models`: the shipped models, their scales, licences and what each is for; what an
architecture or a model file is."""

from __future__ import annotations

import argparse
from typing import Any

from srlab.archs import ARCHITECTURES
from srlab.zoo import CATALOG, DEFAULT_MODEL, catalogue_facts
from srlab.zoo.loader import inspect_file


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "models",
        help="list the shipped models",
        description="List the models srlab ships (names for --model), with their scales, "
        "licences and sources. docs/models.md has their scores.",
    )
    p.add_argument("--archs", action="store_true",
                   help="list the architectures instead (names for configs and model sidecars)")
    p.add_argument("--inspect", metavar="FILE",
                   help="say what a model file is (architecture, layout, scale, parameters, "
                   "licence) from its header and tensor shapes, without running it")
    p.set_defaults(run=run)


def scales_text(name: str) -> str:
    """The factors a shipped model runs at: its trained one, or its architecture's range."""
    return _scales(*catalogue_facts(name))


def _scales(arch: str, options: dict[str, Any]) -> str:
    if "scale" in options:
        return f"x{options['scale']}"
    spec = ARCHITECTURES[arch].spec if arch in ARCHITECTURES else None
    scales = sorted(spec.scales) if spec is not None else []
    if not scales:
        return "any"
    if scales == list(range(scales[0], scales[-1] + 1)) and len(scales) > 2:
        return f"x{scales[0]}-x{scales[-1]}"
    return ", ".join(f"x{s}" for s in scales)


def inspect(path: str) -> int:
    """Print what a model file is: 0 when it loads, 1 when its tensors do not fit; ModelLoadError
    (one line) when srlab cannot tell."""
    facts = inspect_file(path)
    entry = ARCHITECTURES.get(facts.arch)
    options = ", ".join(f"{k}={v}" for k, v in sorted(facts.options.items())) or "none"
    print(path)
    print(f"    architecture: {facts.arch}"
          + (f" ({entry.summary})" if entry else " (not an architecture srlab knows)"))
    print(f"    layout: {facts.layout}")
    if entry is not None and entry.spec is None:
        print("    scale: none (a helper network, e.g. a discriminator)")
    else:
        print(f"    scale: {_scales(facts.arch, facts.options)}")
    print(f"    build options: {options}")
    print(f"    parameters: {facts.parameters:,}")
    print(f"    licence: {facts.licence or 'not stated in the file'}")
    if facts.problems:
        print(f"    does not load: {facts.problems}")
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if args.inspect:
        return inspect(args.inspect)
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
