"""Load models by catalogue name or from a weights file, and save them self-describing.

A saved model is a safetensors file whose metadata names its architecture and build
options (key "srlab"), plus a JSON sidecar with the same facts for people and for weight
files we did not write and whose metadata is empty. Files in a layout an architecture knows
(the authors' releases; BasicSR, Real-ESRGAN and ESRGAN RRDBNets; as safetensors or as PyTorch
pickles read with `weights_only=True`) load without a description: the layout itself, and the
tensors' shapes, say what they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import nn

from srlab.archs import ARCHITECTURES, Architecture, ForeignLayout, ModelSpec
from srlab.archs.keymap import ForeignWeightsError, mismatches
from srlab.io import atomic_write
from srlab.io.state_file import PICKLE_SUFFIXES, read_state_file, special_file_kind
from srlab.zoo.catalog import CATALOG, DEFAULT_MODEL, DEFAULT_SCALE

METADATA_KEY = "srlab"


class ModelLoadError(Exception):
    """A model name or file that cannot be turned into a network; the message says why."""


@dataclass(frozen=True)
class LoadedModel:
    """A ready network with the facts inference needs."""

    name: str
    arch: str
    scale: int
    module: nn.Module
    spec: ModelSpec
    options: dict[str, Any] = field(default_factory=dict)  # build options, scale included


def load_model(
    name_or_path: str | Path = "default",
    *,
    scale: int | None = None,
    registry: Mapping[str, Architecture] = ARCHITECTURES,
) -> LoadedModel:
    """A catalogue model ("default", "bicubic", ...) or a model file.

    A file says what it is through srlab's safetensors metadata, a JSON sidecar beside it, or
    a foreign layout one of the architectures accepts (authors' releases). `scale` picks the
    factor for models that run at several; None takes the model's own (or the default factor
    for scale-free models).
    """
    key = DEFAULT_MODEL if name_or_path == "default" else str(name_or_path)
    if key in CATALOG:
        tensors, meta = _read_catalogue_file(key)
        arch, options = _arch_and_options(Path(CATALOG[key].weights), meta)
        return _build(key, arch, options, tensors, scale, registry)
    path = Path(key)
    if not path.exists():
        known = ", ".join(sorted(CATALOG))
        raise ModelLoadError(f"{key}: no such model name ({known}) or file")
    _check_regular_file(path)
    tensors, meta = _read_weights(path)
    if meta is None and path.with_suffix(".json").exists():
        meta = _read_sidecar(path)
    if meta is None:
        meta = _recognise(path, tensors, registry)
    arch, options = _arch_and_options(path, meta)
    return _build(path.name, arch, options, tensors, scale, registry)


@dataclass(frozen=True)
class FileFacts:
    """What a model file is, read from its header and its tensors' shapes (nothing is built)."""

    arch: str
    layout: str  # "srlab metadata", "JSON sidecar", or the foreign layout's name
    options: dict[str, Any]  # build options, as stated or read off the tensors
    parameters: int  # values in its floating-point tensors
    licence: str | None  # as the file's metadata states it
    problems: str | None  # tensors that do not fit the recognised layout


_LICENCE_KEYS = ("license", "licence", "modelspec.license")


def inspect_file(
    path: str | Path, registry: Mapping[str, Architecture] = ARCHITECTURES
) -> FileFacts:
    """The facts of a model file that `load_model` would use, without building the network;
    refused in one line like `load_model` when no architecture recognises it."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"{path}: no such model file")
    _check_regular_file(path)
    tensors, header = _read_shapes(path)
    meta, layout = _parse_metadata(path, header), "srlab metadata"
    if meta is None and path.with_suffix(".json").exists():
        meta, layout = _read_sidecar(path), "JSON sidecar"
    problems = None
    if meta is None:
        found = _find_layout(tensors, registry)
        if found is None:
            raise ModelLoadError(_unrecognised(path, tensors, registry))
        arch, foreign, options = found
        meta = {"arch": arch, "options": options}
        keymap = foreign.keymap(**options)
        layout = keymap.source
        try:
            keymap.import_state(tensors)
        except ForeignWeightsError as err:
            problems = str(err)
    arch, options = _arch_and_options(path, meta)
    stated = {k.lower(): v for k, v in header.items()}
    return FileFacts(
        arch=arch,
        layout=layout,
        options=options,
        parameters=sum(t.numel() for t in tensors.values() if t.is_floating_point()),
        licence=next((stated[k] for k in _LICENCE_KEYS if k in stated), None),
        problems=problems,
    )


def _check_regular_file(path: Path) -> None:
    """Refuse a folder, device, pipe or socket by name before anything tries to read it."""
    kind = special_file_kind(path)
    if kind is not None:
        raise ModelLoadError(f"{path}: is {kind}, not a model file")


def _read_shapes(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A file's tensors as shape-only (meta) tensors, and its safetensors header metadata:
    safetensors headers are read without the data; pickles are read with `weights_only=True`."""
    if path.suffix in PICKLE_SUFFIXES:
        tensors, _ = _read_weights(path)
        return {k: v.to("meta") for k, v in tensors.items()}, {}
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {}
            for key in f.keys():  # noqa: SIM118 (not a dict)
                part = f.get_slice(key)
                floating = part.get_dtype().startswith(("F", "BF"))  # F32, BF16, F8_E4M3...
                dtype = torch.float32 if floating else torch.int64  # only counting needs it
                tensors[key] = torch.empty(part.get_shape(), dtype=dtype, device="meta")
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelLoadError(f"{path}: not a readable safetensors file ({err})") from err
    return tensors, header


def catalogue_facts(name: str) -> tuple[str, dict[str, Any]]:
    """Architecture and build options of a shipped model, read from its file's header only."""
    with _catalogue_file(name) as path:
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = _parse_metadata(path, f.metadata() or {})
        except (SafetensorError, OSError, ValueError) as err:
            raise ModelLoadError(f"{path}: not a readable safetensors file ({err})") from err
    return _arch_and_options(path, meta)


def _read_catalogue_file(name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    with _catalogue_file(name) as path:
        return _read_safetensors(path)


@contextmanager
def _catalogue_file(name: str) -> Iterator[Path]:
    """The path of a shipped model's file (inside the installed package)."""
    ref = resources.files("srlab.zoo") / "weights" / CATALOG[name].weights
    with resources.as_file(ref) as path:
        yield path


def save_model(
    path: str | Path,
    module: nn.Module,
    *,
    arch: str,
    options: Mapping[str, Any],
    overwrite: bool = False,
) -> Path:
    """Write weights + metadata atomically, and the JSON sidecar beside them."""
    path = Path(path)
    meta = {"arch": arch, "options": dict(options)}
    text = json.dumps(meta, sort_keys=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    atomic_write(
        path, lambda tmp: Path(tmp).write_bytes(save(tensors, metadata={METADATA_KEY: text})),
        overwrite=overwrite,
    )
    atomic_write(
        path.with_suffix(".json"),
        lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n"),
        overwrite=overwrite,
    )
    return path


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelLoadError(f"{path}: not a readable safetensors file ({err})") from err
    return tensors, _parse_metadata(path, metadata)


def _parse_metadata(path: Path, metadata: Mapping[str, str]) -> dict[str, Any] | None:
    """srlab's model description from a safetensors header (None when the file has none)."""
    text = metadata.get(METADATA_KEY)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelLoadError(f"{path}: corrupt srlab metadata ({err})") from err


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """Tensors and srlab metadata of a safetensors file, or the tensors of a PyTorch state-dict
    pickle (no metadata), read without running any code it might carry."""
    if path.suffix not in PICKLE_SUFFIXES:
        return _read_safetensors(path)
    state = read_state_file(
        path,
        what="model weights",
        hint="srlab reads pickles with weights_only=True and runs no code from them",
        error=ModelLoadError,
        unwrap=True,
    )
    return state, None


def _recognise(
    path: Path, tensors: Mapping[str, torch.Tensor], registry: Mapping[str, Architecture]
) -> dict[str, Any]:
    """The description of tensors in a foreign layout that one of the architectures accepts."""
    found = _find_layout(tensors, registry)
    if found is None:
        raise ModelLoadError(_unrecognised(path, tensors, registry))
    arch, _, options = found
    return {"arch": arch, "options": options}


def _find_layout(
    tensors: Mapping[str, torch.Tensor], registry: Mapping[str, Architecture]
) -> tuple[str, ForeignLayout, dict[str, Any]] | None:
    """The first architecture, layout and build options that recognise the tensors."""
    for name, entry in registry.items():
        for layout in entry.foreign:
            options = layout.recognise(tensors)
            if options is not None:
                return name, layout, options
    return None


def _unrecognised(
    path: Path, tensors: Mapping[str, torch.Tensor], registry: Mapping[str, Architecture]
) -> str:
    """One line: the families srlab knows, and the file's keys that the nearest one lacks."""
    families, nearest, unfit = [], None, list(tensors)
    for entry in registry.values():
        for layout in entry.foreign:
            keymap = layout.keymap(**(layout.detect(tensors) or {}))
            families.append(keymap.source)
            theirs = keymap.theirs_to_ours
            outside = [k for k in tensors if k not in theirs]
            if len(outside) < len(unfit):
                nearest, unfit = keymap.source, outside
    if not tensors:
        fit = "it holds no tensors"
    elif not unfit:
        fit = f"its {len(tensors)} keys are {nearest}'s but too few to say which network it is"
    else:
        where = f"not {nearest}'s" if nearest else "in none of them"
        shown = ", ".join(unfit[:5]) + (f" and {len(unfit) - 5} more" if len(unfit) > 5 else "")
        fit = f"{len(unfit)} of its {len(tensors)} keys are {where}: {shown}"
    return (
        f"{path}: no srlab metadata, and its keys fit no layout srlab knows (srlab's own "
        f"files; {'; '.join(families)}); {fit}; for a network srlab has in its own layout, put "
        f'a JSON sidecar {path.with_suffix(".json").name} beside it, e.g. '
        '{"arch": "...", "options": {}}'
    )


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = path.with_suffix(".json")
    try:
        return json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{sidecar}: unreadable model description ({err})") from err


def _arch_and_options(path: Path, meta: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(meta, dict) or not isinstance(meta.get("arch"), str):
        raise ModelLoadError(f"{path}: model description lacks a string 'arch'")
    options = meta.get("options", {})
    if not isinstance(options, dict):
        raise ModelLoadError(f"{path}: model 'options' must be a mapping")
    return meta["arch"], options


def _build(
    name: str,
    arch: str,
    options: dict[str, Any],
    tensors: dict[str, torch.Tensor] | None,
    scale: int | None,
    registry: Mapping[str, Architecture],
) -> LoadedModel:
    if arch not in registry:
        raise ModelLoadError(f"{name}: unknown architecture {arch!r} ({', '.join(registry)})")
    entry = registry[arch]
    if entry.spec is None:
        raise ModelLoadError(f"{name}: {arch!r} is not a super-resolution network")
    if scale is None:
        default_ok = entry.spec.supports_scale(DEFAULT_SCALE)
        scale = options.get("scale", DEFAULT_SCALE if default_ok else entry.spec.scales[0])
    if not entry.spec.supports_scale(scale):
        native = ", ".join(f"x{s}" for s in entry.spec.scales)
        raise ModelLoadError(f"{name}: runs at {native}, not x{scale}")
    options["scale"] = scale
    try:
        module = entry.build(**options)
    except TypeError as err:
        raise ModelLoadError(f"{name}: bad options for {arch!r}: {err}") from err
    if tensors is not None:
        _load_tensors(name, module, tensors, entry)
    return LoadedModel(
        name=name, arch=arch, scale=scale, module=module.eval(), spec=entry.spec_for(options),
        options=options,
    )


def load_weights(path: str | Path, module: nn.Module, architecture: Architecture) -> None:
    """Strictly load a weights file into `module`: safetensors or a PyTorch pickle (read with
    `weights_only=True`), in our layout or the architecture's foreign one (authors' releases).
    Used for `pretrained` networks in training."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such weights file")
    tensors, _ = _read_weights(path)
    _load_tensors(str(path), module, tensors, architecture)


def _load_tensors(
    name: str, module: nn.Module, tensors: dict[str, torch.Tensor], architecture: Architecture
) -> None:
    load_state_strict(name, module, _in_our_layout(name, module, tensors, architecture))


def _in_our_layout(
    name: str, module: nn.Module, tensors: dict[str, torch.Tensor], architecture: Architecture
) -> dict[str, torch.Tensor]:
    """Tensors renamed to our keys when they are in one of the architecture's foreign layouts."""
    if set(tensors) <= set(module.state_dict()):
        return tensors
    for layout in architecture.foreign:
        options = layout.recognise(tensors)
        if options is not None:
            try:
                return layout.keymap(**options).import_state(tensors)
            except ForeignWeightsError as err:
                raise ModelLoadError(f"{name}: {err}") from err
    return tensors


def load_state_strict(name: str, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Strict load that names every missing, unexpected or mis-shaped tensor."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    problems = mismatches(expected, tensors)
    if problems:
        raise ModelLoadError(f"{name}: weights do not fit the architecture; {problems}")
    module.load_state_dict(tensors)
