"""The error types: one-line messages naming the file, pickling, honest kinds."""

import pickle
from pathlib import Path

import pytest

from srlab.io import (
    FileError,
    ImageError,
    ImageReadError,
    ImageWriteError,
    OutputExistsError,
    OutputWriteError,
)


def test_message_is_one_line_naming_file_and_reason() -> None:
    err = ImageReadError("photos/a.png", "image file is truncated\n(12 bytes not processed)")
    assert str(err) == "cannot read photos/a.png: image file is truncated (12 bytes not processed)"
    assert err.path == Path("photos/a.png")
    assert isinstance(err, ImageError)


def test_newline_in_path_cannot_break_the_line() -> None:
    assert "\n" not in str(ImageWriteError("odd\nname.png", "disk full"))


def test_in_memory_image_is_named_as_such() -> None:
    assert str(ImageReadError(None, "bad mode")) == "cannot read in-memory image: bad mode"


@pytest.mark.parametrize(
    "cls", [ImageReadError, ImageWriteError, OutputWriteError, OutputExistsError]
)
def test_errors_survive_pickling(cls: type[FileError]) -> None:
    err = cls("x/y.tif", "some reason")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert str(copy) == str(err)
    assert copy.path == err.path


def test_output_exists_error_is_both_write_error_and_file_exists() -> None:
    err = OutputExistsError("out.png", "file already exists")
    assert isinstance(err, OutputWriteError)
    assert isinstance(err, FileExistsError)
    assert str(err) == "cannot write out.png: file already exists"


def test_write_errors_about_any_file_are_not_image_errors() -> None:
    for err in (OutputWriteError("table.csv", "disk full"), OutputExistsError("w.onnx", "exists")):
        assert not isinstance(err, ImageError)
        assert isinstance(err, OSError)  # handlers of filesystem failures catch it
        assert isinstance(err, FileError)
    assert str(OutputWriteError("table.csv", "disk full")) == "cannot write table.csv: disk full"


def test_image_write_error_is_an_image_error_and_an_output_write_error() -> None:
    err = ImageWriteError("a.jpg", "JPEG cannot store transparency")
    assert isinstance(err, ImageError)
    assert isinstance(err, OutputWriteError)
    assert not isinstance(err, ImageReadError)
