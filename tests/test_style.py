"""The code base stays ruff clean (run as a test so CI and newcomers check it too)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "srlab", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_house_layering_holds():
    """import-linter contracts in pyproject.toml (layers, pure-torch archs and ops)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_trainer_knows_no_recipe_by_name():
    """srlab.train reaches recipes only through the kind table (srlab.recipes) and their
    shared types (srlab.recipes.base); a new recipe never needs a trainer change."""
    import grimp

    graph = grimp.build_graph("srlab")
    allowed = {"srlab.recipes", "srlab.recipes.base"}
    named = {
        (importer, imported)
        for importer in graph.find_descendants("srlab.train") | {"srlab.train"}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("srlab.recipes") and imported not in allowed
    }
    assert not named, named
