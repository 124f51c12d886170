"""The shipped catalogue: every entry builds from its file, names a licence that ships beside
the weights, and is listed by `srlab models`."""

import re
from importlib import resources

import pytest

from srlab.cli.main import main
from srlab.zoo import CATALOG, load_model

WEIGHTS = resources.files("srlab.zoo") / "weights"


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_entry_loads_at_its_scales(name):
    model = load_model(name)
    assert model.name == name and model.arch == CATALOG[name].arch
    assert model.spec.supports_scale(model.scale)


@pytest.mark.parametrize("name", sorted(n for n, e in CATALOG.items() if e.weights))
def test_weights_ship_with_their_sidecar_and_licence(name):
    entry = CATALOG[name]
    assert (WEIGHTS / entry.weights).is_file()
    assert (WEIGHTS / entry.weights.replace(".safetensors", ".json")).is_file()
    named = re.findall(r"weights/(\S+?)\)", entry.license)
    assert all((WEIGHTS / file).is_file() for file in named), entry.license
    assert named or entry.license.startswith("MIT (srlab"), "third-party weights need their licence"


def test_models_command_lists_every_entry(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CATALOG)
    assert "gmgbp-r3 (default)" in out
