"""The error types: one-line messages naming the file, pickling, FileExistsError."""

import pickle
from pathlib import Path

import pytest

from srlab.io import ImageError, ImageReadError, ImageWriteError, OutputExistsError


def test_message_is_one_line_naming_file_and_reason() -> None:
    err = ImageReadError("photos/a.png", "image file is truncated\n(12 bytes not processed)")
    assert str(err) == "cannot read photos/a.png: image file is truncated (12 bytes not processed)"
    assert err.path == Path("photos/a.png")
    assert isinstance(err, ImageError)


def test_newline_in_path_cannot_break_the_line() -> None:
    assert "\n" not in str(ImageWriteError("odd\nname.png", "disk full"))


def test_in_memory_image_is_named_as_such() -> None:
    assert str(ImageReadError(None, "bad mode")) == "cannot read in-memory image: bad mode"


@pytest.mark.parametrize("cls", [ImageReadError, ImageWriteError, OutputExistsError])
def test_errors_survive_pickling(cls: type[ImageError]) -> None:
    err = cls("x/y.tif", "some reason")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert str(copy) == str(err)
    assert copy.path == err.path


def test_output_exists_error_is_both_write_error_and_file_exists() -> None:
    err = OutputExistsError("out.png", "file already exists")
    assert isinstance(err, ImageWriteError)
    assert isinstance(err, FileExistsError)
    assert str(err) == "cannot write out.png: file already exists"
