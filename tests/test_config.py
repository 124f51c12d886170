"""srlab.config: typed loading of a dataclass schema, its dotted-path errors, and overrides."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import yaml

from srlab.config import (
    ConfigError,
    Tagged,
    apply_override,
    dump_yaml,
    from_dict,
    load_config,
    to_dict,
)


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Optim:
    kind: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError("lr must be positive")


@dataclass
class Net:
    arch: str
    optim: Optim = field(default_factory=Optim)
    pretrained: Path | None = None
    ema: float | None = None


@dataclass
class Loss:
    kind: str
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Data:
    root: Path
    patch_size: int = 48
    flips: bool = True
    scales: tuple[int, ...] = (2,)
    channels: Literal[1, 3] = 3


@dataclass
class Experiment:
    name: str
    data: Data
    networks: dict[str, Net]
    losses: list[Loss] = field(default_factory=lambda: [Loss("l1")])
    color: Color = Color.RED
    milestones: list[int] = field(default_factory=list)
    seed: int = 0


@dataclass
class Unsupported:
    tags: set[str]


def raw() -> dict[str, Any]:
    """A valid config as YAML would give it."""
    return {
        "name": "esrgan",
        "data": {"root": "data/div2k", "scales": [2, 4]},
        "networks": {
            "g": {"arch": "rrdb", "optim": {"lr": 2e-4}, "pretrained": "psnr.safetensors"},
            "d": {"arch": "vgg", "ema": 0.999},
        },
        "losses": [{"kind": "l1"}, {"kind": "gan", "weight": 5e-3, "options": {"k": [1]}}],
        "color": "blue",
        "milestones": [10, 20],
    }


def test_from_dict_builds_typed_objects_with_defaults():
    cfg = from_dict(Experiment, raw())
    assert cfg.data == Data(
        Path("data/div2k"), patch_size=48, flips=True, scales=(2, 4), channels=3
    )
    assert cfg.networks["g"].optim == Optim(kind="adam", lr=2e-4, betas=(0.9, 0.999))
    assert cfg.networks["g"].pretrained == Path("psnr.safetensors")
    assert cfg.networks["d"] == Net(arch="vgg", optim=Optim(), pretrained=None, ema=0.999)
    assert cfg.losses == [Loss("l1"), Loss("gan", 5e-3, {"k": [1]})]
    assert cfg.color is Color.BLUE
    assert cfg.seed == 0


def test_round_trip_through_dump_yaml_and_load_config(tmp_path: Path):
    cfg = from_dict(Experiment, raw())
    plain = to_dict(cfg)
    assert plain["data"] == {
        "root": "data/div2k",
        "patch_size": 48,
        "flips": True,
        "scales": [2, 4],
        "channels": 3,
    }
    assert plain["color"] == "blue"
    assert plain["networks"]["g"]["optim"]["betas"] == [0.9, 0.999]
    text = dump_yaml(cfg)
    assert yaml.safe_load(text) == plain
    file = tmp_path / "resolved.yaml"
    file.write_text(text)
    assert load_config(Experiment, file) == cfg
    assert from_dict(Experiment, plain) == cfg


def test_any_values_are_copied_not_aliased():
    data = raw()
    cfg = from_dict(Experiment, data)
    data["losses"][1]["options"]["k"].append(2)
    assert cfg.losses[1].options == {"k": [1]}


def test_to_dict_needs_a_dataclass_instance():
    with pytest.raises(TypeError, match="dataclass instance"):
        to_dict(Experiment)


_DELETE = object()


def _set(data: dict, dotted: str, value: Any) -> None:
    """Set a value by dotted path with optional [i] list steps, for building bad configs."""
    keys = [
        int(k) if k.isdigit() else k for k in dotted.replace("[", ".").replace("]", "").split(".")
    ]
    *parents, last = keys
    for key in parents:
        data = data[key]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("networks.g.optim.lr", "fast", "networks.g.optim.lr: expected float, got 'fast'"),
        ("data.patchsize", 64, "data.patchsize: unknown key (did you mean 'patch_size'?)"),
        ("zzz", 1, "zzz: unknown key"),
        ("losses[1].weight", "heavy", "losses[1].weight: expected float, got 'heavy'"),
        ("losses[1].wieght", 2.0, "losses[1].wieght: unknown key (did you mean 'weight'?)"),
        ("networks.d.ema", "high", "networks.d.ema: expected float, got 'high'"),
        ("networks.d.optm", {}, "networks.d.optm: unknown key (did you mean 'optim'?)"),
        ("data.root", _DELETE, "data.root: missing required field"),
        ("losses[0].kind", _DELETE, "losses[0].kind: missing required field"),
        ("data.flips", 1, "data.flips: expected bool (true/false), got 1"),
        ("data.flips", "yes", "data.flips: expected bool (true/false), got 'yes'"),
        ("data.patch_size", 2.5, "data.patch_size: expected int, got 2.5"),
        ("data.patch_size", True, "data.patch_size: expected int, got True"),
        ("data.patch_size", "64", "data.patch_size: expected int, got '64'"),
        ("networks.g.optim.lr", False, "networks.g.optim.lr: expected float, got False"),
        ("seed", None, "seed: expected int, got None"),
        ("name", 123, "name: expected str, got 123"),
        ("data.root", "", "data.root: expected a path, got ''"),
        ("data.root", 7, "data.root: expected a path, got 7"),
        (
            "networks.g.optim.kind",
            "adm",
            "networks.g.optim.kind: expected one of 'adam', 'sgd', got 'adm'",
        ),
        ("data.channels", True, "data.channels: expected one of 1, 3, got True"),
        ("data.channels", 2, "data.channels: expected one of 1, 3, got 2"),
        ("color", "green", "color: expected one of 'red', 'blue', got 'green'"),
        ("networks.g.optim.betas", [0.9], "networks.g.optim.betas: expected 2 items, got 1"),
        (
            "networks.g.optim.betas",
            [0.9, "x"],
            "networks.g.optim.betas[1]: expected float, got 'x'",
        ),
        ("data.scales", [2, "x"], "data.scales[1]: expected int, got 'x'"),
        ("milestones", "10,20", "milestones: expected a list, got '10,20'"),
        ("networks", ["g"], "networks: expected a mapping, got ['g']"),
        ("networks", {1: {"arch": "x"}}, "networks: keys must be strings, got 1"),
        ("data", "div2k", "data: expected a mapping, got 'div2k'"),
        ("losses[1]", "gan", "losses[1]: expected a mapping, got 'gan'"),
        ("networks.g.optim.lr", -1.0, "networks.g.optim: lr must be positive"),
    ],
)
def test_errors_name_the_dotted_path(dotted: str, value: Any, message: str):
    data = raw()
    _set(data, dotted, value)
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, data)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_missing_required_fields_are_all_named():
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, {})
    assert str(info.value) == "<top level>: missing required fields 'name', 'data', 'networks'"


def test_long_values_are_shortened_in_messages():
    data = raw()
    data["name"] = list(range(100))
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, data)
    message = str(info.value)
    assert message.startswith("name: expected str, got [0, 1, 2,")
    assert message.endswith("...") and len(message) < 100


def test_numbers_pyyaml_leaves_as_text_are_accepted():
    text = "root: d\npatch_size: 1e3\n"  # PyYAML reads 1e3 as the string '1e3'
    assert yaml.safe_load(text)["patch_size"] == "1e3"
    assert from_dict(Data, yaml.safe_load(text)).patch_size == 1000
    assert from_dict(Data, {"root": "d", "patch_size": 64.0}).patch_size == 64
    optim = from_dict(Optim, yaml.safe_load("lr: 2e-4\nbetas: [1, 1.0e3]"))
    assert optim.lr == pytest.approx(2e-4)
    assert optim.betas == (1.0, 1000.0)
    assert all(type(beta) is float for beta in optim.betas)


def test_literal_and_optional_handling():
    assert from_dict(Optim, {"kind": "sgd"}).kind == "sgd"
    with pytest.raises(ConfigError, match="expected one of 'adam', 'sgd', got 1"):
        from_dict(Optim, {"kind": 1})
    net = from_dict(Net, {"arch": "a", "pretrained": None, "ema": 1})
    assert net.pretrained is None
    assert net.ema == 1.0 and type(net.ema) is float
    assert from_dict(Net, {"arch": "a", "pretrained": "w.pt"}).pretrained == Path("w.pt")
    assert from_dict(Net, {"arch": "a"}).ema is None


def test_frozen_dataclasses_are_built():
    optim = from_dict(Optim, {"lr": 0.5})
    with pytest.raises(AttributeError):
        optim.lr = 1.0  # type: ignore[misc]


def test_unsupported_annotations_are_schema_errors():
    with pytest.raises(TypeError, match="tags: unsupported annotation"):
        from_dict(Unsupported, {"tags": ["a"]})
    with pytest.raises(TypeError, match="not a dataclass"):
        from_dict(dict, {})


def test_override_sets_nested_value_and_creates_missing_sections():
    cfg = load_config(
        Experiment,
        raw(),
        [
            "networks.g.optim.lr=2e-5",
            "networks.d.optim.kind=sgd",  # optim absent in the data: created
            "networks.e.arch=unet",  # a new entry in a dict field
            "milestones=[1, 2, 3]",
            "data.flips = false",
        ],
    )
    assert cfg.networks["g"].optim.lr == pytest.approx(2e-5)
    assert cfg.networks["d"].optim == Optim(kind="sgd")
    assert cfg.networks["e"] == Net(arch="unet")
    assert cfg.milestones == [1, 2, 3]
    assert cfg.data.flips is False


def test_override_does_not_modify_the_source_mapping():
    data = raw()
    before = copy.deepcopy(data)
    load_config(Experiment, data, ["networks.g.optim.lr=0.1", "networks.x.arch=y"])
    assert data == before


def test_apply_override_replaces_null_and_parses_empty_as_null():
    data: dict[str, Any] = {"a": None}
    apply_override(data, "a.b.c=1")
    apply_override(data, "d=")
    assert data == {"a": {"b": {"c": 1}}, "d": None}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("data.root", "override 'data.root': expected 'dotted.key=value'"),
        ("=3", "override '=3': expected 'dotted.key=value'"),
        ("data..root=x", "override 'data..root=x': expected 'dotted.key=value'"),
        ("name.first=x", "name: cannot set 'first' inside 'esrgan'"),
        ("losses.weight=2", "losses: cannot set 'weight' inside [{'kind': 'l1'}, {'kind': 'gan',"),
        ("milestones=[1, 2", "milestones: cannot parse value '[1, 2'"),
    ],
)
def test_bad_overrides(assignment: str, message: str):
    with pytest.raises(ConfigError) as info:
        apply_override(raw(), assignment)
    assert str(info.value).startswith(message)


def test_override_of_unknown_key_gets_a_dotted_path_error():
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, raw(), ["networks.g.optim.lrr=0.1"])
    assert str(info.value) == "networks.g.optim.lrr: unknown key (did you mean 'lr'?)"
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, raw(), ["data.patch_size=big"])
    assert str(info.value) == "data.patch_size: expected int, got 'big'"


def test_load_config_from_yaml_file(tmp_path: Path):
    file = tmp_path / "exp.yaml"
    file.write_text(
        "# pixel pre-training\n"
        "name: psnr\n"
        "data: {root: /data/div2k, patch_size: 32}\n"
        "networks:\n"
        "  g:\n"
        "    arch: rrdb\n"
        "    optim: {lr: 2e-4, kind: adam}\n"
        "losses:\n"
        "  - kind: l1\n"
        "  - {kind: perceptual, weight: 1e-2, options: {layer: conv5_4}}\n"
    )
    cfg = load_config(Experiment, str(file), ["seed=7"])
    assert cfg.name == "psnr"
    assert cfg.data.root == Path("/data/div2k")
    assert cfg.data.patch_size == 32
    assert cfg.networks["g"].optim.lr == pytest.approx(2e-4)
    assert cfg.losses[1] == Loss("perceptual", 1e-2, {"layer": "conv5_4"})
    assert cfg.seed == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "<top level>: expected a mapping, got ['a', 'b']"),
        ("just text\n", "<top level>: expected a mapping, got 'just text'"),
        ("", "<top level>: missing required fields 'name', 'data', 'networks'"),
    ],
)
def test_yaml_file_top_level_must_be_a_mapping(tmp_path: Path, text: str, message: str):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, file)
    assert str(info.value) == message


def test_invalid_yaml_file_names_the_file(tmp_path: Path):
    file = tmp_path / "broken.yaml"
    file.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: invalid YAML: .* at line 2, column 1$"):
        load_config(Experiment, file)
    file.write_bytes(b"name: \xff\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not UTF-8 text \(byte 6\)"):
        load_config(Experiment, file)


def test_non_mapping_passed_to_from_dict_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, ["name"])  # type: ignore[arg-type]
    assert str(info.value) == "<top level>: expected a mapping, got ['name']"


def test_overrides_can_index_lists():
    data = {"recipe": {"losses": [{"kind": "l1"}, {"kind": "perceptual", "options": {}}]}}
    apply_override(data, "recipe.losses[1].options.weights_path=/x/vgg.pth")
    apply_override(data, "recipe.losses[0].weight=0.5")
    assert data["recipe"]["losses"] == [
        {"kind": "l1", "weight": 0.5},
        {"kind": "perceptual", "options": {"weights_path": "/x/vgg.pth"}},
    ]
    with pytest.raises(ConfigError, match=r"recipe.losses\[5\].weight: no list item \[5\]"):
        apply_override(data, "recipe.losses[5].weight=1")
    with pytest.raises(ConfigError, match=r"expected 'dotted\.key=value'"):
        apply_override(data, "recipe..losses=1")


# ---- tagged sections and checks that name their own keys ----------------------------------


@dataclass
class Shape:
    kind: str
    name: str = "shape"


@dataclass
class Circle(Shape):
    kind: Literal["circle"] = "circle"
    radius: float = 1.0

    def __post_init__(self) -> None:
        if self.radius <= 0:
            raise ConfigError(f"radius: must be positive, got {self.radius}")


@dataclass
class Square(Shape):
    kind: Literal["square"] = "square"
    side: int = 2


_SHAPES = Tagged("kind", {"circle": Circle, "square": Square}, default="circle")


@dataclass
class Drawing:
    shape: Annotated[Shape, _SHAPES] = field(default_factory=Circle)
    shapes: list[Annotated[Shape, _SHAPES]] = field(default_factory=list)
    untagged: Annotated[int, "a note"] = 0


def test_a_tagged_section_is_read_as_the_variant_its_key_names(tmp_path: Path):
    drawing = from_dict(
        Drawing,
        {"shape": {"kind": "square", "side": 3}, "shapes": [{"radius": 2}], "untagged": 4},
    )
    assert drawing.shape == Square(side=3)
    assert drawing.shapes == [Circle(radius=2.0)]  # the default variant
    assert drawing.untagged == 4
    assert from_dict(Drawing, {}).shape == Circle()
    file = tmp_path / "drawing.yaml"
    file.write_text(dump_yaml(drawing))
    assert load_config(Drawing, file) == drawing
    overridden = load_config(Drawing, {"shape": {"kind": "square"}}, ["shape.side=5"])
    assert overridden.shape == Square(side=5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"shape": {"kind": "oval"}}, "shape.kind: expected one of 'circle', 'square', got 'oval'"),
        ({"shape": {"kind": ["circle"]}},
         "shape.kind: expected one of 'circle', 'square', got ['circle']"),
        ({"shape": {"kind": "square", "radius": 1}}, "shape.radius: unknown key"),
        ({"shape": {"kind": "square", "side": "big"}}, "shape.side: expected int, got 'big'"),
        ({"shapes": [{}, {"radius": -1}]}, "shapes[1].radius: must be positive, got -1.0"),
        ({"shape": "circle"}, "shape: expected a mapping, got 'circle'"),
        ({"untagged": "x"}, "untagged: expected int, got 'x'"),
    ],
)
def test_tagged_section_errors_name_the_dotted_path(data, message):
    with pytest.raises(ConfigError) as info:
        from_dict(Drawing, data)
    assert str(info.value) == message


def test_a_tag_without_default_is_required():
    @dataclass
    class Strict:
        shape: Annotated[Shape, Tagged("kind", {"circle": Circle})]

    with pytest.raises(ConfigError) as info:
        from_dict(Strict, {"shape": {"radius": 2}})
    assert str(info.value) == "shape.kind: missing required field"


def test_config_errors_from_post_init_are_placed_under_the_section():
    assert str(ConfigError("lr: must be positive").under("networks.g")) == (
        "networks.g.lr: must be positive"
    )
    assert str(ConfigError("lr: bad").under("")) == "lr: bad"
