"""`srlab serve`: a local web page (and a small HTTP API) over the upscaler.

Upload photos, pick a model and scale, slide G-MGBP's noise amplitude W, compare before and
after, download the result in the input's format. Model work runs in one thread per model,
results are cached per (image, model, scale, W, seed), and everything written stays under
the output folder. See docs/serve.md.
"""

from srlab.serve.app import create_app
from srlab.serve.settings import Limits, ServeSettings

__all__ = ["Limits", "ServeSettings", "create_app"]
