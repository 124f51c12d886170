"""The shipped catalogue: every entry builds from its file, names a licence that ships beside
the weights, and is listed by `srlab models`."""

import re
from importlib import resources

import pytest

from srlab.archs import ARCHITECTURES
from srlab.cli.main import main
from srlab.zoo import CATALOG, catalogue_facts, load_model

WEIGHTS = resources.files("srlab.zoo") / "weights"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_entry_loads_at_its_scales(name):
    model = load_model(name)
    arch, options = catalogue_facts(name)
    assert model.name == name and model.arch == arch
    assert model.spec.supports_scale(model.scale)
    assert model.scale == options.get("scale", model.scale)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_weights_ship_with_their_licence_and_nothing_twice(name):
    entry = CATALOG[name]
    assert (WEIGHTS / entry.weights).is_file()
    # one source of truth: the file describes the network, no sidecar repeats it
    assert not (WEIGHTS / entry.weights.replace(".safetensors", ".json")).is_file()
    named = re.findall(r"weights/(\S+?)\)", entry.license)
    assert all((WEIGHTS / file).is_file() for file in named), entry.license
    assert named or entry.license.startswith("MIT (srlab"), "third-party weights need their licence"


def test_models_command_lists_every_entry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CATALOG)
    assert "gmgbp-r3 (default)" in out


def test_every_shipped_file_is_in_the_catalogue():
    files = {p.name for p in WEIGHTS.iterdir() if p.name.endswith(".safetensors")}
    assert files == {entry.weights for entry in CATALOG.values()}


def test_models_archs_lists_the_registry(capsys):
    assert main(["models", "--archs"]) == 0
    out = capsys.readouterr().out
    assert all(name in out and arch.summary in out for name, arch in ARCHITECTURES.items())
