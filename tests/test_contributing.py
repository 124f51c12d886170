"""docs/contributing.md is true: its toy network and toy recipe, written into a copy of the
package as the page says (two new files, one line in each registry), train for two
iterations, upscale a photo and export to ONNX."""

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "contributing.md"
BLOCK = re.compile(r"```\w+ (file|line)=(\S+)\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str, str]]:
    return BLOCK.findall(GUIDE.read_text())


def _apply_guide(package_root: Path, work: Path) -> None:
    """Write the guide's files and add its registry lines, as a contributor would."""
    for kind, target, text in _blocks():
        if kind == "file":
            base = package_root if target.startswith("srlab/") else work
            (base / target).write_text(text)
        else:
            registry = package_root / target
            source = registry.read_text()
            assert "_FILES = (\n" in source, f"{target} has no _FILES list"
            registry.write_text(source.replace("_FILES = (\n", "_FILES = (\n" + text, 1))


def _changed_lines(original: Path, copy: Path) -> tuple[list[str], int]:
    """Files added to the copy, and the number of lines changed in files both have."""
    added, changed = [], 0
    for path in sorted(copy.rglob("*.py")):
        rel = path.relative_to(copy)
        before = original / rel
        if not before.exists():
            added.append(str(rel))
            continue
        diff = difflib.unified_diff(before.read_text().splitlines(), path.read_text().splitlines())
        changed += sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    return added, changed


def _photos(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        smooth = rng.random((8, 8, 3))
        img = Image.fromarray((smooth * 255).astype(np.uint8)).resize((64, 48), Image.BICUBIC)
        img.save(folder / f"p{k}.png")


def _srlab(args: list[str], cwd: Path, package_parent: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(package_parent), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "srlab.cli.main", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_the_guide_adds_a_network_and_a_recipe_in_one_file_and_one_line_each(tmp_path):
    kinds = [(kind, target) for kind, target, _ in _blocks()]
    assert ("file", "srlab/archs/toy.py") in kinds and ("file", "srlab/recipes/toy.py") in kinds
    package_parent = tmp_path / "src"
    shutil.copytree(
        ROOT / "srlab", package_parent / "srlab",
        ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"),
    )
    work = tmp_path / "work"
    work.mkdir()
    _apply_guide(package_parent, work)

    added, changed = _changed_lines(ROOT / "srlab", package_parent / "srlab")
    assert added == ["archs/toy.py", "recipes/toy.py"]
    assert changed == 2  # one line in each registry

    _photos(work / "photos")
    shutil.copy(ROOT / "samples" / "butterfly_lr.png", work / "photo.png")
    _srlab(["train", "toy.yaml", "--run-dir", "run", "--quiet"], work, package_parent)
    model = work / "run" / "model.safetensors"
    assert model.is_file()

    _srlab(["upscale", "photo.png", "-o", "out", "--model", str(model)], work, package_parent)
    with Image.open(work / "photo.png") as lr, Image.open(work / "out" / "photo.png") as sr:
        assert sr.size == (lr.width * 2, lr.height * 2)

    _srlab(["export", "--model", str(model), "--format", "onnx", "-o", "toy.onnx"],
           work, package_parent)
    assert (work / "toy.onnx").stat().st_size > 0
