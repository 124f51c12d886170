"""Running one job through its model: the loaded network kept per scale, tiles counted.

Each model has one worker thread and one ModelRunner, so a network is only ever used by
one thread.
"""

from __future__ import annotations

from srlab.infer.options import UpscaleOptions
from srlab.infer.tiling import split_axis
from srlab.infer.upscaler import Upscaler, tile_geometry
from srlab.io import DecodedImage
from srlab.serve.jobs import Job
from srlab.serve.uploads import UploadStore
from srlab.zoo import LoadedModel, load_model


class ModelRunner:
    """Loads a catalogue model once per scale and upscales jobs with it."""

    def __init__(self, model: str, uploads: UploadStore) -> None:
        self.model = model
        self.uploads = uploads
        self._loaded: dict[int, LoadedModel] = {}

    def run(self, job: Job) -> DecodedImage:
        """The job's result; raises JobCancelled (from a tile callback) when superseded."""
        key = job.key
        loaded = self._load(key.scale)
        options = UpscaleOptions(
            noise=key.noise if loaded.spec.takes_noise else None,
            seed=key.seed,
            ensemble=key.ensemble,
        )
        image = self.uploads.decoded(job.upload)
        job.tiles_total = count_tiles(loaded, options, image.height, image.width)
        return Upscaler(loaded, options).upscale(image, on_tile=job.check_cancelled)

    def _load(self, scale: int) -> LoadedModel:
        if scale not in self._loaded:
            self._loaded[scale] = load_model(self.model, scale=scale)
        return self._loaded[scale]


def count_tiles(model: LoadedModel, options: UpscaleOptions, height: int, width: int) -> int:
    """How many times the upscaler calls its tile callback for an image of this size."""
    tile, overlap = tile_geometry(model, options)
    tile = tile or max(height, width)  # 0: the whole image in one tile
    return len(split_axis(height, tile, overlap)) * len(split_axis(width, tile, overlap))
