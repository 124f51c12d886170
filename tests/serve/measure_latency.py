"""How long the page waits for a picture: a 256x256 photo at x4 with the default model.

    .venv/bin/python -m tests.serve.measure_latency

Times, through the HTTP API in-process (the page's own calls: start a job, poll it, fetch the
preview PNG): the first request (the model is loaded then), a new W (computed), a W step
precomputed while idle (the slider's usual case), and one asked for before (cached). Prints a
Markdown table and the load average, since the two cores are often shared.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from starlette.testclient import TestClient

from srlab.io import from_array
from srlab.serve import ServeSettings, create_app
from srlab.serve.noise_steps import W_STEPS
from srlab.zoo import load_model

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "butterfly_lr.png"
SIDE = 256


def photo_256() -> bytes:
    """The bundled sample enlarged to 256x256 with bicubic: photo-like content, no data needed."""
    from srlab.infer.upscaler import Upscaler

    small = np.asarray(Image.open(SAMPLE).convert("RGB").crop((0, 0, 88, 88)))
    big = Upscaler(load_model("bicubic", scale=3)).upscale(from_array(small))
    pixels = (np.clip(big.rgb[:SIDE, :SIDE], 0, 1) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def timed_request(client: TestClient, body: dict) -> tuple[float, dict]:
    """Seconds from the request to the preview PNG in hand, and the finished job."""
    start = time.perf_counter()
    job = client.post("/api/jobs", json=body).json()
    while job["state"] in ("queued", "running"):
        time.sleep(0.01)
        job = client.get(f"/api/jobs/{job['id']}").json()
    assert job["state"] == "done", job
    png = client.get(f"/api/jobs/{job['id']}/preview.png").content
    elapsed = time.perf_counter() - start
    assert Image.open(io.BytesIO(png)).size == (SIDE * 4, SIDE * 4)
    return elapsed, job


def wait_idle(client: TestClient) -> None:
    while client.get("/api/queue").json():
        time.sleep(0.05)


def main() -> None:
    rows = []
    with (
        tempfile.TemporaryDirectory() as out,
        TestClient(create_app(ServeSettings(out=Path(out)))) as client,
    ):
        image = client.post("/api/images", files={"file": ("photo.png", photo_256())}).json()
        base = {"image": image["id"], "model": "gmgbp-r3", "scale": 4, "seed": 0}
        seconds, _ = timed_request(client, base | {"noise": W_STEPS[4]})
        rows.append(("first request (loads the model), W = 0.01", seconds))
        wait_idle(client)  # the four steps around W = 0.01 are precomputed meanwhile
        seconds, _ = timed_request(client, base | {"noise": W_STEPS[5]})
        rows.append(("next slider step (precomputed while idle), W = 0.0125", seconds))
        seconds, _ = timed_request(client, base | {"noise": W_STEPS[4]})
        rows.append(("back to a step seen before (cached), W = 0.01", seconds))
        wait_idle(client)
        seconds, _ = timed_request(client, base | {"noise": W_STEPS[12]})
        rows.append(("a far step, computed (model loaded), W = 0.05", seconds))
    print(f"256x256 -> 1024x1024, gmgbp-r3, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| request | seconds |\n|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
