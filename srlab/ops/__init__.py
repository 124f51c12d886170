"""The bottom room: pure tensor and array operations every other room uses.

It imports only torch and numpy (checked by import-linter), so networks, data pipelines and
metrics can share MATLAB-exact resizing and colour conversion without depending on each other.
"""

from srlab.ops.color import matlab_round, rgb_to_y
from srlab.ops.resize import imresize, output_size

__all__ = ["imresize", "matlab_round", "output_size", "rgb_to_y"]
