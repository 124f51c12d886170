"""The models srlab ships, by name.

Each fact about a shipped model has one home: what the network is (architecture and build
options) lives in the metadata of its weights file in `srlab/zoo/weights/`, written by
`save_model`; what people need to choose it (description, licence, provenance) lives here.
Weightless models (bicubic) ship as a file with metadata and no tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ZooEntry:
    """A shipped model: its file inside `srlab/zoo/weights/`, what it is for, its licence and
    provenance."""

    weights: str
    description: str
    license: str = "MIT (srlab)"
    source: str = "srlab"


CATALOG: MappingProxyType[str, ZooEntry] = MappingProxyType(
    {
        "bicubic": ZooEntry(
            weights="bicubic.safetensors",
            description="MATLAB-compatible bicubic interpolation; any integer scale",
        ),
        **{
            f"gmgbp-r{region}": ZooEntry(
                description=(
                    f"G-MGBP, the authors' PIRM 2018 Region {region} model; x2-x16, "
                    f"--noise W from 0 (faithful) to 1 (sharper texture){note}"
                ),
                weights=f"gmgbp-r{region}.safetensors",
                license="LGPL-3.0 (weights/LICENSE-LGPL-3.0.txt)",
                source=(
                    "pnavarre/pirm-sr-2018 @ a73f724, "
                    f"BOE-R{region}_CH3_BIC_FE48_..._v3_ms.model (Navarrete Michelini et al.)"
                ),
            )
            for region, note in ((1, ""), (2, ""), (3, "; the default model"))
        },
        "srrescgan-real-x4": ZooEntry(
            description=(
                "SRResCGAN's G_SR as released by its authors, trained for real-world noisy and "
                "compressed photos; x4; --ensemble for the '+' variant"
            ),
            weights="srrescgan-real-x4.safetensors",
            license="MIT (weights/LICENSE-MIT-SRResCGAN.txt)",
            source=(
                "RaoUmer/SRResCGAN @ cfb4217, srrescgan_code_demo/trained_nets_x4/"
                "srrescgan_model.pth (Umer, Foresti, Micheloni)"
            ),
        ),
        "srrescycgan-srlab-x4": ZooEntry(
            description=(
                "G_SR trained by srlab with SRResCycGAN's cycle recipe on its real-world chain "
                "(a short CPU run from the authors' perceptual init); x4"
            ),
            weights="srrescycgan-srlab-x4.safetensors",
            license="MIT (srlab; fine-tuned from the authors' MIT weights, "
            "weights/LICENSE-MIT-SRResCGAN.txt)",
            source="configs/srrescycgan-stageB-x4.yaml, 300 iterations (docs/models.md)",
        ),
        "gmgbp-srlab-x4": ZooEntry(
            description=(
                "G-MGBP trained from scratch by srlab (stage 1: L1 and back-projection at W = 0) "
                "on our 125 training photos, on a 2-core CPU; x4"
            ),
            weights="gmgbp-srlab-x4.safetensors",
            source="configs/gmgbp-stage1-x4-cpu.yaml (training record in docs/results/)",
        ),
        "fast-srfbn-srlab-x16": ZooEntry(
            description=(
                "Fast-SRFBN (the authors' 64-feature, 4-step, 6-IMDB network) trained by srlab "
                "with L1 at every step on a small CPU budget; x16"
            ),
            weights="fast-srfbn-srlab-x16.safetensors",
            source="configs/fast-srfbn-stage1-x16-cpu.yaml (training record in docs/results/)",
        ),
        "bsr-srlab-x4": ZooEntry(
            description=(
                "BSR at reduced size (32 features, 4 FMGs of 4 blocks) trained by srlab with "
                "Random Filter Sampling and the mixed-norm loss on a 2-core CPU; x4"
            ),
            weights="bsr-srlab-x4.safetensors",
            source="configs/bsr-bi-x4-cpu.yaml (training record in docs/results/)",
        ),
        "ciplab-srlab-x16": ZooEntry(
            description=(
                "CIPLAB's doubled-RRDB generator at reduced size (2 RRDBs per trunk, 32 features) "
                "trained by srlab with the Huber stage-1 loss on a small CPU budget; x16"
            ),
            weights="ciplab-srlab-x16.safetensors",
            source="configs/ciplab-stage1-x16-cpu.yaml (training record in docs/results/)",
        ),
    }
)

DEFAULT_MODEL = "gmgbp-r3"
DEFAULT_SCALE = 4
