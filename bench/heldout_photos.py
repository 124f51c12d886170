"""Copy the held-out photos into DIR: colour photographs that no srlab model trained or validated
on, taken from scikit-image's bundled sample data (a test dependency), so that shipped models
trained here can be scored on pictures their training never saw.

    .venv/bin/python bench/heldout_photos.py /tmp/heldout
    .venv/bin/srlab eval --model gmgbp-srlab-x4 --data /tmp/heldout --scale 4
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# scikit-image's data/README and docs give the sources: NASA (public domain), Stéfan van der
# Walt's cat and Rachel Michetti's coffee (CC0), the Middlebury 2014 stereo set's motorcycle.
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")


def main(target: Path) -> None:
    import skimage

    from srlab.io import atomic_write

    source = Path(skimage.__file__).parent / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        if not (target / name).exists():  # photos already there are kept
            atomic_write(target / name, lambda tmp, n=name: shutil.copyfile(source / n, tmp),
                         overwrite=False)
    print(f"{len(PHOTOS)} held-out photos in {target}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
