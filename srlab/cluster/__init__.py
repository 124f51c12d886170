"""Batch upscaling beyond one process: `srlab upscale --ray` on a Ray cluster.

Above `srlab.infer` in the house: it runs the very per-file code of `srlab.infer.batch` inside
Ray Data actors, so a cluster run keeps every guarantee of a local one. Ray is an optional
dependency (``pip install 'srlab[cluster]'``) imported only when a run starts.
"""

from srlab.cluster.ray_batch import run_batch_on_ray
from srlab.cluster.settings import ClusterError, RaySettings

__all__ = ["ClusterError", "RaySettings", "run_batch_on_ray"]
