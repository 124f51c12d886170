"""Network architectures and the registry that names them.

The registry is a plain mapping built here, with no import-time registration side effects;
callers that need extra architectures (tests, plug-ins) pass their own mapping.
"""

from __future__ import annotations

from types import MappingProxyType

from srlab.archs import (
    bicubic,
    dsgan_discriminator,
    edsr,
    fast_srfbn,
    gmgbp,
    gmgbp_discriminator,
    lr_generator,
    srrescgan,
    vgg_discriminator,
)
from srlab.archs.spec import Architecture, ModelSpec

_ALL = (
    Architecture(
        name="bicubic",
        build=bicubic.BicubicInterpolator,
        spec=bicubic.SPEC,
        summary="MATLAB-compatible bicubic interpolation (classical baseline, no weights)",
    ),
    Architecture(
        name="edsr",
        build=edsr.EDSR,
        spec=edsr.SPEC,
        summary="EDSR (Lim et al. 2017); baseline = 16 blocks, 64 features",
    ),
    Architecture(
        name="fast_srfbn",
        build=fast_srfbn.FastSRFBN,
        spec=fast_srfbn.SPEC,
        summary="Fast-SRFBN (NTIRE 2020 x16): feedback network of IMDBs, one image per step",
        foreign=fast_srfbn.authors_keymap,
    ),
    Architecture(
        name="gmgbp",
        build=gmgbp.GMGBP,
        spec=gmgbp.SPEC,
        summary="G-MGBP (Navarrete Michelini et al. 2018): x2-x16, noise amplitude W",
        foreign=gmgbp.authors_keymap,
    ),
    Architecture(
        name="gmgbp_discriminator",
        build=gmgbp_discriminator.GMGBPDiscriminator,
        spec=None,
        summary="G-MGBP's multi-scale recursive discriminator with VN+SC input (our wiring)",
    ),
    Architecture(
        name="srrescgan",
        build=srrescgan.SRResCGANGenerator,
        spec=srrescgan.SPEC,
        summary="SRResCGAN/SRResCycGAN generator G_SR (Umer et al. 2020): x4, real photos",
        foreign=srrescgan.authors_keymap,
    ),
    Architecture(
        name="dsgan_discriminator",
        build=dsgan_discriminator.DSGANDiscriminator,
        spec=None,
        summary="DSGAN patch discriminator on high-pass LR images (SRResCycGAN's D_y)",
    ),
    Architecture(
        name="lr_generator",
        build=lr_generator.LRGenerator,
        spec=None,
        summary="SRResCycGAN's degradation generator G_LR, x4 down (our proposal)",
    ),
    Architecture(
        name="vgg_discriminator",
        build=vgg_discriminator.VGGStyleDiscriminator,
        spec=None,
        summary="ESRGAN VGG-style discriminator (VGG-128; input_size multiple of 32); "
        "high_pass=9 for SRResCycGAN's D_x",
    ),
)

ARCHITECTURES: MappingProxyType[str, Architecture] = MappingProxyType(
    {a.name: a for a in _ALL}
)

__all__ = ["ARCHITECTURES", "Architecture", "ModelSpec"]
