"""The one folder walker: which files of a folder are its images, in which order."""

from pathlib import Path

import pytest

from srlab.data import scan_images
from srlab.evaluation.benchmark import find_images as eval_images
from srlab.infer.batch import collect_jobs
from srlab.io import find_images

NAMES = ("b.png", "A.PNG", "a.png", "a/x.jpg", "a-b.png", "sub/deep/c.tif", "z.webp")
HIDDEN = (".hidden.png", ".cache/c.png", "sub/.thumbs/d.png", "a/._x.jpg")
OTHER = ("notes.txt", "sub/readme.md", "noext")


def _touch(root: Path, names) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    _touch(root, NAMES + HIDDEN + OTHER)
    (root / "folder.png").mkdir()  # a folder with an image suffix is no image
    return root


def test_recursive_sorted_images_only_hidden_files_and_folders_skipped(folder: Path):
    found = [p.relative_to(folder).as_posix() for p in find_images(folder)]
    # Part by part: the folder "a" sorts before the file "a-b.png" and "a.png".
    assert found == ["A.PNG", "a/x.jpg", "a-b.png", "a.png", "b.png", "sub/deep/c.tif", "z.webp"]
    assert all(p.is_absolute() == folder.is_absolute() for p in find_images(folder))


def test_a_hidden_folder_given_on_purpose_is_walked(tmp_path: Path):
    root = tmp_path / ".backup"
    _touch(root, ("one.png", ".two.png"))
    assert [p.name for p in find_images(root)] == ["one.png"]


def test_a_missing_folder_or_a_file_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="missing: no such folder"):
        find_images(tmp_path / "missing")
    _touch(tmp_path, ("file.png",))
    with pytest.raises(FileNotFoundError, match=r"file\.png: no such folder"):
        find_images(tmp_path / "file.png")


def test_training_data_evaluation_and_upscale_list_the_same_images(folder: Path, tmp_path):
    expected = find_images(folder)
    assert scan_images(folder) == expected
    assert eval_images(folder) == expected
    jobs = collect_jobs([str(folder)], tmp_path / "out")
    assert [job.source for job in jobs] == expected
    assert [job.target for job in jobs] == [tmp_path / "out" / p.relative_to(folder)
                                            for p in expected]
