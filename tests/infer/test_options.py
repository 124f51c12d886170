"""UpscaleOptions: every value checked once, one line per problem; callers pass the object on."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

import srlab
from srlab.cli.main import USAGE_ERROR, main
from srlab.infer.options import DEFAULT_OVERLAP, UpscaleOptions
from srlab.infer.upscaler import Upscaler
from srlab.zoo import load_model


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tile": -1}, "tile size must be >= 0"),
        ({"tile": 2.5}, "tile size must be >= 0"),
        ({"tile_overlap": -2}, "tile overlap must be >= 0"),
        ({"tile": 20, "tile_overlap": 11}, r"at most half the tile size \(20\)"),
        ({"noise": -0.1}, "noise amplitude must be >= 0"),
        ({"noise": float("nan")}, "noise amplitude must be >= 0"),
        ({"noise": 0.5, "ensemble": True}, "self-ensemble averages away"),
        ({"ensemble": "yes"}, "ensemble must be True or False"),
        ({"half": 1}, "half must be None, True or False"),
        ({"seed": True}, "seed must be an integer"),
        ({"seed": 2**70}, r"seed must be from -2\*\*63 to 2\*\*64 - 1"),
        ({"device": "tpu"}, "device 'tpu'"),
    ],
)
def test_bad_values_are_refused_in_one_line(fields, message):
    with pytest.raises(ValueError, match=message) as caught:
        UpscaleOptions(**fields)
    assert "\n" not in str(caught.value)


def test_defaults_and_changes():
    options = UpscaleOptions()
    assert (options.tile, options.tile_overlap, options.noise, options.seed) == (
        None, DEFAULT_OVERLAP, None, 0
    )
    assert options.torch_device.type == "cpu"
    with pytest.raises(ValueError, match="self-ensemble"):
        replace(UpscaleOptions(ensemble=True), noise=1.0)  # changes are checked too


def test_the_upscaler_takes_the_object_and_single_changes_to_it():
    model = load_model("bicubic", scale=2)
    options = UpscaleOptions(tile=32, tile_overlap=8, seed=5)
    upscaler = Upscaler(model, options, tile=40)
    assert upscaler.options == replace(options, tile=40)
    assert (upscaler.tile, upscaler.overlap) == (40, 8)
    with pytest.raises(TypeError):
        Upscaler(model, options, tiles=40)  # a misspelt option is no silent default


def test_api_and_cli_refuse_bad_options_before_any_work(tmp_path, capsys):
    with pytest.raises(ValueError, match="tile overlap"):
        srlab.upscale(np.zeros((8, 8, 3), np.uint8), model="bicubic", tile=8, tile_overlap=5)
    image = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(image)
    code = main(["upscale", str(image), "-o", str(tmp_path / "out"), "--tile", "8",
                 "--tile-overlap", "5"])
    assert code == USAGE_ERROR
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "out").exists()
