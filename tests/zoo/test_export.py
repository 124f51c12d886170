"""`srlab export`: ONNX graphs that onnxruntime runs like PyTorch, and self-describing files."""

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from srlab.archs.edsr import EDSR
from srlab.cli.main import USAGE_ERROR, main
from srlab.zoo import load_model, save_model
from srlab.zoo.export import ExportError, check_onnx, export_onnx, onnx_inputs, torch_reference


def test_gmgbp_graph_takes_noise_maps_and_matches_pytorch(tmp_path: Path, capsys):
    path = tmp_path / "gmgbp.onnx"
    assert main(["export", "--format", "onnx", "-o", str(path)]) == 0
    assert "(ok)" in capsys.readouterr().err
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [
        "lr", "noise_amplitude", "noise_0", "noise_1"
    ]
    model = load_model("gmgbp-r3")
    inputs = onnx_inputs(model, 20, 28, seed=5)
    for w in (0.0, 1.0):
        inputs["noise_amplitude"] = np.array(w, np.float32)
        (out,) = session.run(["sr"], inputs)
        assert out.shape == (1, 3, 80, 112)
        assert np.abs(out - torch_reference(model, inputs)).max() < 1e-4


def test_plain_networks_export_too(tmp_path: Path):
    torch.manual_seed(0)
    file = save_model(tmp_path / "edsr.safetensors", EDSR(scale=2, blocks=2, features=8),
                      arch="edsr", options={"scale": 2, "blocks": 2, "features": 8})
    model = load_model(file)
    graph = export_onnx(model, tmp_path / "edsr.onnx")
    assert check_onnx(model, graph) < 1e-4


def test_multi_output_networks_export_their_final_image(tmp_path: Path):
    from srlab.archs.fast_srfbn import FastSRFBN

    torch.manual_seed(0)
    options = {"scale": 4, "features": 16, "steps": 2, "blocks": 1}
    file = save_model(tmp_path / "srfbn.safetensors", FastSRFBN(**options), arch="fast_srfbn",
                      options=options)
    model = load_model(file)
    graph = export_onnx(model, tmp_path / "srfbn.onnx")
    assert check_onnx(model, graph) < 1e-4


def test_what_onnx_cannot_hold_is_refused(tmp_path: Path):
    with pytest.raises(ExportError, match="not a network"):
        export_onnx(load_model("bicubic"), tmp_path / "b.onnx")
    with pytest.raises(ExportError, match="export x4 and resize"):
        export_onnx(load_model("gmgbp-r3", scale=3), tmp_path / "g3.onnx")
    assert not list(tmp_path.iterdir())


def test_authors_release_becomes_a_self_describing_file(shared_dir: Path, tmp_path: Path):
    out = tmp_path / "r1.safetensors"
    release = shared_dir / "data/gmgbp-authors/gmgbp_R1.safetensors"
    args = ["export", "--model", str(release), "--format", "safetensors", "-o", str(out)]
    assert main(args) == 0
    again = load_model(out)
    assert again.arch == "gmgbp" and again.scale == 4
    reference = load_model("gmgbp-r1").module.state_dict()
    assert all(torch.equal(again.module.state_dict()[k], v) for k, v in reference.items())
    assert main(args) == USAGE_ERROR  # no silent overwrite


def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path: Path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for target in (tmp_path, blocker / "model.safetensors"):
        args = ["export", "--model", "bsr-srlab-x4", "--format", "safetensors", "-o", str(target)]
        assert main(args) == USAGE_ERROR
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"srlab: error: cannot write {target}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
