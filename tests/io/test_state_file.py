"""Weight-file reading refuses code-carrying and broken pickles in one line, without advice
to load them unsafely."""

import os

import pytest
import torch

from srlab.io.state_file import read_state_file


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return os.makedirs, (self.target,)


def _read(path):
    return read_state_file(path, what="test weights", hint="a hint", error=ValueError)


def test_a_code_carrying_pickle_is_named_and_not_run(tmp_path):
    target = tmp_path / "ran"
    path = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(2), "x": _Payload(str(target))}, path)
    with pytest.raises(ValueError) as err:
        _read(path)
    message = str(err.value)
    assert "\n" not in message and "makedirs" in message and "never runs" in message
    assert "weights_only` set to `False`" not in message and "will likely succeed" not in message
    assert not target.exists()


def test_a_garbage_pickle_says_so(tmp_path):
    path = tmp_path / "w.pth"
    path.write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError, match=r"not a readable PyTorch pickle") as err:
        _read(path)
    assert "\n" not in str(err.value) and "likely succeed" not in str(err.value)


def test_a_plain_state_dict_reads(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"w": torch.arange(3.0)}, path)
    assert torch.equal(_read(path)["w"], torch.arange(3.0))


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"hello, not a checkpoint", "neither a zip archive nor a pickle"),
     (b"PK\x03\x04" + b"x" * 50, "failed reading zip archive")],
)
def test_a_file_that_is_no_checkpoint_says_why_in_one_sentence(tmp_path, content, reason):
    path = tmp_path / "w.pth"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=reason) as err:
        _read(path)
    assert "\n" not in str(err.value) and "If you are seeing" not in str(err.value)


def test_a_folder_or_device_is_named_as_such(tmp_path):
    (tmp_path / "w.pth").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        _read(tmp_path / "w.pth")
    with pytest.raises(ValueError, match="device, pipe or socket"):
        _read(os.devnull)
