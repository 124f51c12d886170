"""Network architectures and the registry that names them.

Each file of this package that holds a network ends with `ARCHITECTURE = Architecture(...)`
(see `srlab.archs.spec`); the registry below is the plain list of those files, so adding a
network is one new file plus one line here. Building the registry has no side effects beyond
importing the files; callers that need extra architectures (tests, plug-ins) pass their own
mapping.
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType

from srlab.archs.spec import Architecture, ForeignLayout, ModelSpec

_FILES = (
    "bicubic",
    "edsr",
    "fast_srfbn",
    "gmgbp",
    "gmgbp_discriminator",
    "srrescgan",
    "rrdb",
    "ciplab",
    "ciplab_discriminator",
    "dsgan_discriminator",
    "lr_generator",
    "vgg_discriminator",
    "bsr",
)


def _registry() -> MappingProxyType[str, Architecture]:
    entries = [import_module(f"{__name__}.{file}").ARCHITECTURE for file in _FILES]
    return MappingProxyType({a.name: a for a in entries})


ARCHITECTURES: MappingProxyType[str, Architecture] = _registry()

__all__ = ["ARCHITECTURES", "Architecture", "ForeignLayout", "ModelSpec"]
