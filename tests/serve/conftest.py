"""Fixtures for the web server's tests: an in-process client, a live server on a loopback
port, and generated image files (good and bad)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from srlab.serve import Limits, ServeSettings, create_app


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def make_client(out_dir: Path) -> Iterator[Callable[..., TestClient]]:
    """make_client(**limits): a TestClient of a fresh app writing under `out_dir`."""
    clients: list[TestClient] = []

    def make(**limits: int) -> TestClient:
        client = TestClient(create_app(ServeSettings(out=out_dir, limits=Limits(**limits))))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@dataclass
class LiveServer:
    url: str
    out: Path


@pytest.fixture
def live_server(out_dir: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A real uvicorn server on 127.0.0.1 (a free port) in a thread; limits from the test's
    `limits` marker keywords, if any."""
    marker = request.node.get_closest_marker("limits")
    limits = Limits(**(marker.kwargs if marker else {}))
    app = create_app(ServeSettings(out=out_dir, limits=limits), allowed_hosts=["127.0.0.1"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", out_dir)
    server.should_exit = True
    thread.join(timeout=60)
    sock.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "limits(**kwargs): Limits of the live_server fixture")
