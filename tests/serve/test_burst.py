"""A burst of concurrent uploads against a real server: queued or refused, never a crash."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from PIL import Image

from tests.serve.conftest import LiveServer
from tests.serve.images import encoded, noise_image

CLIENTS = 24


@pytest.mark.limits(max_waiting=2, max_uploads=2)
def test_burst_of_uploads_is_queued_or_refused(live_server: LiveServer) -> None:
    barrier = threading.Barrier(CLIENTS)

    def one(index: int) -> tuple[int, httpx2.Response]:
        data = encoded(noise_image(24, 20, 3, seed=index), "PNG")
        barrier.wait(timeout=30)
        with httpx2.Client(base_url=live_server.url, timeout=120) as http:
            response = http.post(
                "/api/upscale",
                files={"file": (f"burst{index}.png", data)},
                data={"model": "bicubic", "scale": "2"},
            )
        return index, response

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(one, range(CLIENTS)))
    statuses = [response.status_code for _, response in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses, statuses
    for index, response in answers:
        if response.status_code == 503:
            assert response.headers["retry-after"] and "busy" in response.json()["error"]
        else:
            assert Image.open(io.BytesIO(response.content)).size == (40, 48), index
    with httpx2.Client(base_url=live_server.url, timeout=60) as http:
        assert http.get("/api/models").status_code == 200
        after = http.post(
            "/api/upscale",
            files={"file": ("after.png", encoded(noise_image(8, 8, 3), "PNG"))},
            data={"model": "bicubic", "scale": "2"},
        )
        assert after.status_code == 200
