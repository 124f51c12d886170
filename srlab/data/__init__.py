"""Data preparation: LR degradation models, paired datasets, patch samplers and training batches."""

from srlab.data.augment import ALL_TRANSFORMS, ROTATIONS, allowed_transforms, dihedral
from srlab.data.degradations import (
    BD,
    BI,
    DN,
    JPEG,
    Compose,
    Degradation,
    RealWorld,
    RoundTo8Bit,
    make_degradation,
    modcrop,
    round_to_8bit,
)
from srlab.data.loader import make_train_loader
from srlab.data.pairs import (
    EvalPair,
    HRFolderSource,
    PairedFolderSource,
    PairSource,
    SampleRequest,
    image_generator,
    make_val_pairs,
    scan_images,
)
from srlab.data.sampling import PatchPlanner, RFSPlanner, UniformPlanner, pic, pic_edges

__all__ = [
    "ALL_TRANSFORMS",
    "BD",
    "BI",
    "DN",
    "JPEG",
    "ROTATIONS",
    "Compose",
    "Degradation",
    "EvalPair",
    "HRFolderSource",
    "PairSource",
    "PairedFolderSource",
    "PatchPlanner",
    "RFSPlanner",
    "RealWorld",
    "RoundTo8Bit",
    "SampleRequest",
    "UniformPlanner",
    "allowed_transforms",
    "dihedral",
    "image_generator",
    "make_degradation",
    "make_train_loader",
    "make_val_pairs",
    "modcrop",
    "pic",
    "pic_edges",
    "round_to_8bit",
    "scan_images",
]
