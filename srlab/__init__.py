"""srlab: single-image super-resolution toolkit.

`srlab.upscale` is resolved lazily so that importing one room (e.g. `srlab.ops`)
does not load the whole inference stack.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "upscale"]


def __getattr__(name: str) -> Any:
    if name == "upscale":
        from srlab.api import upscale

        return upscale
    raise AttributeError(f"module 'srlab' has no attribute {name!r}")
