"""Export a loaded model: to ONNX for other runtimes, or to a self-describing safetensors file.

The ONNX graph takes `lr` (N×3×H×W, float32, 0..1; H and W free) and returns `sr`
(N×3×sH×sW, clamped to 0..1). A model with a noise input also takes `noise_amplitude` (a
float32 scalar, W) and its unit N(0, 1) noise maps `noise_0`, `noise_1`, … (N×1×h_k×w_k with
h_k = (H + 2·2^L)·2^k for L levels), so a caller controls and reproduces the noise.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from srlab.archs import ModelSpec
from srlab.archs.calling import draw_noise, final_output
from srlab.io import atomic_write
from srlab.zoo.loader import LoadedModel, save_model

ONNX_OPSET = 17


class ExportError(ValueError):
    """A model or format that cannot be exported; the message says why."""


class _Graph(nn.Module):
    """The network's final image, clamped, with a noise amplitude and noise maps as plain
    positional inputs after the image (networks with a noise input)."""

    def __init__(self, net: nn.Module, spec: ModelSpec) -> None:
        super().__init__()
        self.net = net
        self.spec = spec

    def forward(self, lr: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        if not noise:
            return final_output(self.net, self.spec, lr).clamp(0.0, 1.0)
        amplitude, *maps = noise
        out = final_output(self.net, self.spec, lr, noise=amplitude, noise_maps=maps)
        return out.clamp(0.0, 1.0)


def onnx_inputs(
    model: LoadedModel, height: int, width: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Example inputs of the exported graph for an H×W image (noise drawn from `seed`)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = {"lr": torch.rand(1, 3, height, width, generator=gen).numpy()}
    if model.spec.takes_noise:
        inputs["noise_amplitude"] = np.array(0.5, dtype=np.float32)
        maps = draw_noise(model.module, model.spec, height, width, gen) or []
        for k, m in enumerate(maps):
            inputs[f"noise_{k}"] = m.numpy()
    return inputs


def _noise_map_names(inputs: dict) -> list[str]:
    return [k for k in inputs if k.startswith("noise_") and k != "noise_amplitude"]


def torch_reference(model: LoadedModel, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """What the PyTorch model gives for the graph's inputs (clamped, as the graph is)."""
    lr = torch.from_numpy(inputs["lr"])
    noise: dict = {}
    if model.spec.takes_noise:
        noise["noise"] = float(inputs["noise_amplitude"])
        noise["noise_maps"] = [torch.from_numpy(inputs[k]) for k in _noise_map_names(inputs)]
    with torch.no_grad():
        out = final_output(model.module, model.spec, lr, **noise)
    return out.clamp(0.0, 1.0).numpy()


def export_onnx(model: LoadedModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write `model` as an ONNX graph with free image size (see the module doc)."""
    if model.arch == "bicubic":
        raise ExportError("bicubic is not a network; resize with srlab.ops.imresize instead")
    native = getattr(model.module, "native_scale", model.scale)
    if native != model.scale:
        raise ExportError(
            f"{model.name} runs x{model.scale} as x{native} plus a bicubic shrink, which ONNX "
            f"cannot express with a free image size; export x{native} and resize after it"
        )
    try:
        import onnx
    except ImportError as err:
        raise ExportError("ONNX export needs onnx: pip install 'srlab[export]'") from err
    module = model.module.float().eval()
    example = {k: torch.from_numpy(v) for k, v in onnx_inputs(model, 24, 32).items()}
    names = list(example)
    dynamic = {
        "lr": {0: "batch", 2: "height", 3: "width"},
        "sr": {0: "batch", 2: "sr_height", 3: "sr_width"},
        **{m: {0: "batch", 2: f"{m}_height", 3: f"{m}_width"} for m in _noise_map_names(example)},
    }
    wrapper = _Graph(module, model.spec)
    description = json.dumps(
        {"arch": model.arch, "options": model.options, "scale": model.scale, "inputs": names}
    )

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation chatter
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, tuple(example.values()), str(tmp), dynamo=False,
                opset_version=ONNX_OPSET, input_names=names, output_names=["sr"],
                dynamic_axes=dynamic,
            )
        graph = onnx.load(str(tmp))
        graph.doc_string = f"srlab {model.name}: {description}"
        onnx.save(graph, str(tmp))

    return atomic_write(path, write, overwrite=overwrite)


def check_onnx(model: LoadedModel, path: str | Path, height: int = 40, width: int = 36) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on a random H×W input
    (a size other than the one the graph was traced at)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = onnx_inputs(model, height, width, seed=1)
    (out,) = session.run(["sr"], inputs)
    return float(np.abs(out - torch_reference(model, inputs)).max())


def export_safetensors(model: LoadedModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """The model as srlab's self-describing safetensors file (plus JSON sidecar), e.g. to turn
    an authors' release into a file that says what it is."""
    return save_model(path, model.module, arch=model.arch, options=model.options,
                      overwrite=overwrite)
