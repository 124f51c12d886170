"""`srlab serve` as a user starts it: answers on localhost (and only to localhost names),
removes its temporary folder when stopped. Where files go under --out is tested in-process."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from srlab.cli.main import USAGE_ERROR, main
from tests.serve.images import encoded, noise_image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "srlab.cli.main", "serve", "--port", str(port), *args],
        stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read()
        try:
            if httpx2.get(f"{url}/api/models", timeout=2).status_code == 200:
                return process, url
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, "srlab serve did not start"
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stderr


def test_default_folder_is_temporary_and_removed_at_exit(tmp_path: Path) -> None:
    process, url = start()
    try:
        data = encoded(noise_image(6, 6, 3), "PNG")
        response = httpx2.post(f"{url}/api/upscale", files={"file": ("a.png", data)},
                               data={"scale": "2", "model": "bicubic"}, timeout=60)
        assert response.status_code == 200
        # only localhost names are accepted as Host (no DNS-rebinding pages)
        rebound = httpx2.get(f"{url}/api/models", headers={"host": "evil.example"})
        assert rebound.status_code == 400
    finally:
        stderr = stop(process)
    folder = Path(re.search(r"results in (\S+), removed at exit", stderr)[1])
    assert folder.name.startswith("srlab-serve-") and not folder.exists()


@pytest.mark.parametrize(
    "args", [["--port", "99999"], ["--port", "0"], ["--max-upload-mb", "nan"],
             ["--cache-mb", "-5"], ["--max-pixels", "0"]],
)
def test_bad_limits_and_ports_are_one_usage_line(args: list[str], capsys) -> None:
    assert main(["serve", *args]) == USAGE_ERROR
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("srlab: error: serve: argument")


def test_an_address_it_cannot_listen_on_is_one_line_before_anything_starts(tmp_path: Path):
    """Run as a process: were the check to pass wrongly, the server would start (and the
    timeout end the test) rather than hang the test session."""
    (tmp_path / "a_file").write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for args in (["--port", port], ["--host", "no-such-host.invalid", "--port", port],
                     ["--port", str(free_port()), "--out", str(tmp_path / "a_file" / "out")]):
            done = subprocess.run([sys.executable, "-m", "srlab.cli.main", "serve", *args],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == USAGE_ERROR, (args, done.stderr)
            (line,) = done.stderr.splitlines()
            assert line.startswith("srlab: error:"), line
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]
