"""Typed configs: YAML (or a mapping) plus ``a.b.c=value`` overrides, checked against a dataclass.

The schema is any tree of dataclasses; field annotations (``from __future__ import
annotations`` included) say how each value is checked. Checking is strict so that a typo
fails at start-up, not hours into a run: every error is a ConfigError whose message
begins with the dotted path of the bad value, e.g. ``networks.g.optimizer.lr`` or
``recipe.losses[1].weight``.

Supported annotations and what they accept:

* ``bool``: only true/false (YAML's yes/no/on/off parse as bools; 0, 1 and "yes" do not).
* ``int``: integers and integral numbers (``1e3``, ``64.0``); never bools, never 2.5.
* ``float``: integers and floats, never bools.
* ``int``/``float`` also take exponent strings such as ``2e-4``: PyYAML (YAML 1.1) reads a
  float only with a dot and a signed exponent, so it leaves ``2e-4`` and ``1.0e3`` as text.
* ``str``: strings only (quote a name that YAML would read as a number).
* ``Path``: a non-empty string.
* ``Literal[...]``: one of the listed values; ``Enum``: a member's value.
* ``X | None``, ``list[X]``, ``tuple[X, ...]``, fixed ``tuple[X, Y]``, ``dict[str, X]``,
  nested dataclasses, and ``Any`` (taken as is, copied).
* ``Annotated[Base, Tagged(key, variants)]``: a mapping whose ``key`` picks the dataclass it is
  read as (``recipe: {kind: gan, ...}`` is read as the ``gan`` variant), so each variant
  checks its own keys.

Absent keys take the dataclass defaults. A dataclass's ``__post_init__`` may raise a
ConfigError naming a path relative to itself (``"lr: must be positive"`` becomes
``networks.g.optimizer.lr: must be positive``); any other ValueError it raises becomes a
ConfigError naming that dataclass's path.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import types
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path, PurePath
from typing import (
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import yaml

__all__ = [
    "ConfigError",
    "Tagged",
    "apply_override",
    "dump_yaml",
    "from_dict",
    "load_config",
    "to_dict",
]

T = TypeVar("T")
_ROOT = "<top level>"
# Numbers YAML 1.2 reads but PyYAML leaves as strings: an exponent without dot or sign.
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_NAMES = {bool: "bool (true/false)", int: "int", float: "float", str: "str", Path: "a path"}


class ConfigError(ValueError):
    """An invalid config; the message starts with the dotted path of the offending value."""

    def under(self, path: str) -> ConfigError:
        """The same error for a section found at ``path``: its message's path is prefixed."""
        return ConfigError(_join(path, str(self)))


@dataclasses.dataclass(frozen=True, eq=False)
class Tagged:
    """Annotation metadata for a section read as one of several dataclasses, chosen by the value
    of its ``key`` (``default`` when the key is absent): ``Annotated[Base, Tagged("kind",
    {"a": A, "b": B}, default="a")]``. The chosen class gets the key's value as a field."""

    key: str
    variants: Mapping[str, type]
    default: str | None = None


def from_dict(cls: type[T], data: Mapping, *, path: str = "") -> T:
    """Build dataclass ``cls`` from plain ``data``, checking every value against the schema.

    ``path`` is the dotted location of ``data`` in a larger config, used in error messages.
    Raises ConfigError for bad data and TypeError for annotations this module cannot check.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{_at(path)}: expected a mapping, got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{_join(path, key)}: unknown key{hint}")
    missing = [
        name
        for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if len(missing) == 1:
        raise ConfigError(f"{_join(path, missing[0])}: missing required field")
    if missing:
        raise ConfigError(f"{_at(path)}: missing required fields {', '.join(map(repr, missing))}")
    hints = get_type_hints(cls, include_extras=True)
    kwargs = {name: _convert(hints[name], value, _join(path, name)) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # the schema's own checks, naming a key of this dataclass
        raise exc.under(path) from exc
    except ValueError as exc:  # other __post_init__ validation
        raise ConfigError(f"{_at(path)}: {exc}") from exc


def load_config(cls: type[T], source: str | Path | Mapping, overrides: Sequence[str] = ()) -> T:
    """Load ``cls`` from a YAML file (or a mapping, which is not modified), then overrides.

    The overrides edit the raw data before it is checked, so a mistyped override key
    gets the same dotted-path error as a mistyped YAML key. An empty file is an empty mapping.
    """
    if isinstance(source, Mapping):
        data = _plain(source)
    else:
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: invalid YAML: {_yaml_problem(exc)}") from exc
        data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{_ROOT}: expected a mapping, got {_show(data)}")
    for assignment in overrides:
        apply_override(data, assignment)
    return from_dict(cls, data)


def apply_override(data: dict, assignment: str) -> None:
    """Set ``data[a][b][c]`` from ``"a.b.c=value"``, the value parsed as YAML.

    Missing (or null) intermediate mappings are created, so an override can add a new
    entry to a ``dict`` field or fill a section the file left at its default. A step may
    index an existing list: ``recipe.losses[1].weight=0.5``.
    """
    key, sep, text = assignment.partition("=")
    steps = _override_steps(key.strip())
    if not sep or not steps:
        raise ConfigError(f"override {assignment!r}: expected 'dotted.key=value'")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key.strip()}: cannot parse value {text!r}: {exc}") from exc
    node: Any = data
    for depth, step in enumerate(steps):
        done, rest = _path(steps[:depth]), _path(steps[depth:])
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise ConfigError(f"{_path(steps)}: no list item [{step}] in {_show(node)}")
        elif not isinstance(node, dict):
            raise ConfigError(f"{done}: cannot set {rest!r} inside {_show(node)}")
        if depth == len(steps) - 1:
            node[step] = value
        elif isinstance(step, int):
            node = node[step]
        else:
            if node.get(step) is None:
                node[step] = {}
            node = node[step]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _override_steps(key: str) -> list[str | int]:
    """``"a.b[1].c"`` → ``["a", "b", 1, "c"]`` (empty on malformed keys)."""
    steps: list[str | int] = []
    position = 0
    while position < len(key):
        if key[position] == "." and steps and position + 1 < len(key):
            position += 1
        match = _STEP.match(key, position)
        if match is None:
            return []
        steps.append(match[1] if match[1] is not None else int(match[2]))
        position = match.end()
    return steps


def _path(steps: Sequence[str | int]) -> str:
    """``["a", "b", 1, "c"]`` → ``"a.b[1].c"``."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass instance ``obj`` as plain YAML-safe data that from_dict turns back into it.

    Paths become strings, enums their values, tuples lists; ``init=False`` fields are left out.
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"expected a dataclass instance, got {type(obj).__name__}")
    return _plain(obj)


def dump_yaml(obj: Any) -> str:
    """Dataclass instance ``obj`` as YAML text, in field order; load_config reads it back equal."""
    return yaml.safe_dump(to_dict(obj), sort_keys=False, allow_unicode=True)


def _convert(tp: Any, value: Any, path: str) -> Any:
    """``value`` checked against annotation ``tp`` (and converted: Path, tuple, Enum...)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return copy.deepcopy(value)
    if origin is Annotated:
        tags = [extra for extra in tp.__metadata__ if isinstance(extra, Tagged)]
        return _tagged(tags[0], value, path) if tags else _convert(args[0], value, path)
    if origin in (Union, types.UnionType):
        arms = [arm for arm in args if arm is not type(None)]
        if len(arms) != 1:
            raise TypeError(f"{path}: only 'X | None' unions are supported, not {tp!r}")
        return None if value is None else _convert(arms[0], value, path)
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise ConfigError(f"{path}: expected one of {_choices(args)}, got {_show(value)}")
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            choices = _choices([member.value for member in tp])
            raise ConfigError(f"{path}: expected one of {choices}, got {_show(value)}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path=path)
    if origin in (list, tuple):
        return _sequence(origin, args, value, path)
    if origin is dict and args[0] is str:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {_show(value)}")
        for key in value:
            if not isinstance(key, str):
                raise ConfigError(f"{path}: keys must be strings, got {_show(key)}")
        return {key: _convert(args[1], item, _join(path, key)) for key, item in value.items()}
    if tp in _NAMES:
        return _scalar(tp, value, path)
    raise TypeError(f"{path}: unsupported annotation {tp!r}")


def _tagged(tag: Tagged, value: Any, path: str) -> Any:
    """``value`` read as the dataclass that its ``tag.key`` names."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{_at(path)}: expected a mapping, got {_show(value)}")
    name = value.get(tag.key, tag.default)
    if name is None:
        raise ConfigError(f"{_join(path, tag.key)}: missing required field")
    if not (isinstance(name, str) and name in tag.variants):
        choices = _choices(list(tag.variants))
        raise ConfigError(f"{_join(path, tag.key)}: expected one of {choices}, got {_show(name)}")
    return from_dict(tag.variants[name], {**value, tag.key: name}, path=path)


def _sequence(origin: type, args: tuple, value: Any, path: str) -> list | tuple:
    """A ``list[X]``, ``tuple[X, ...]`` or fixed ``tuple[X, Y]`` from a list (or tuple)."""
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{path}: expected a list, got {_show(value)}")
    if origin is tuple and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ConfigError(f"{path}: expected {len(args)} items, got {len(value)}")
        item_types = args
    else:
        item_types = (args[0],) * len(value)
    items = [
        _convert(tp, item, f"{path}[{i}]")
        for i, (tp, item) in enumerate(zip(item_types, value, strict=True))
    ]
    return items if origin is list else tuple(items)


def _scalar(tp: type, value: Any, path: str) -> Any:
    """``value`` as a bool, int, float, str or Path, by the rules in the module docstring."""
    if (tp is bool and isinstance(value, bool)) or (tp is str and isinstance(value, str)):
        return value
    if tp is Path and isinstance(value, str | PurePath) and value != "":
        return Path(value)
    number = None
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value):
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    if tp is float and number is not None:
        return float(number)
    if tp is int and number is not None and (isinstance(number, int) or number.is_integer()):
        return int(number)
    raise ConfigError(f"{path}: expected {_NAMES[tp]}, got {_show(value)}")


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and sequences turned into dicts and lists of plain YAML values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {f.name: _plain(getattr(value, f.name)) for f in fields if f.init}
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _at(path: str) -> str:
    return path or _ROOT


def _choices(values: Sequence[Any]) -> str:
    return ", ".join(map(repr, values))


def _show(value: Any) -> str:
    """A short repr for error messages (long lists and mappings are cut)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line report as one line: the problem and where (1-based line, column)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())
