"""The HTTP API in-process: the good path, every bad input, limits, and where files go."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from srlab.infer.batch import Job, run_batch
from srlab.infer.upscaler import Upscaler
from srlab.io import read_image
from srlab.serve.names import safe_stem
from srlab.serve.noise_steps import W_STEPS
from srlab.zoo import CATALOG, DEFAULT_MODEL, load_model
from tests.serve.images import (
    black_png,
    encoded,
    files_under,
    noise_image,
    png16_rgba,
    png_header_only,
)


def post_upscale(client: TestClient, name: str, data: bytes, **fields: object):
    form = {key: str(value) for key, value in fields.items()}
    return client.post("/api/upscale", files={"file": (name, data)}, data=form)


def decoded(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return read_image(path)


def wait_done(client: TestClient, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job still {job['state']}"
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def upload(client: TestClient, name: str, data: bytes) -> dict:
    response = client.post("/api/images", files={"file": (name, data)})
    assert response.status_code == 200, response.text
    return response.json()


# -- catalogue ---------------------------------------------------------------------------


def test_models_lists_the_catalogue_default_first(client: TestClient) -> None:
    models = client.get("/api/models").json()
    assert {m["name"] for m in models} == set(CATALOG)
    assert models[0]["name"] == DEFAULT_MODEL and models[0]["default"]
    by_name = {m["name"]: m for m in models}
    assert by_name["gmgbp-r3"]["takes_noise"] and 4 in by_name["gmgbp-r3"]["scales"]
    assert not by_name["bicubic"]["takes_noise"]
    assert by_name["srrescgan-real-x4"]["scales"] == [4]
    assert by_name["fast-srfbn-srlab-x16"]["scales"] == [16]
    assert all(m["when"] and "\n" not in m["when"] for m in models)


def test_page_and_assets_come_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/app.js"' in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN
    for name in ("app.js", "app.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and "https://" not in asset.text
    assert client.get("/static/..%2f..%2fpyproject.toml").status_code == 404
    assert client.get("/static/settings.py").status_code == 404


def test_limits_and_w_steps_are_published(client: TestClient) -> None:
    limits = client.get("/api/limits").json()
    steps = limits["w_steps"]
    assert steps[0] == 0 and steps[-1] == 1 and steps == sorted(steps)
    assert sum(w <= 0.03 for w in steps) > len(steps) / 2  # fine steps where W matters


# -- the synchronous API: good path --------------------------------------------------------


def test_upscale_keeps_16_bit_and_alpha_and_matches_the_upscaler(
    client: TestClient, tmp_path: Path, out_dir: Path
) -> None:
    data = png16_rgba(9, 7)
    response = post_upscale(client, "deep.png", data, scale=3, model="bicubic")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert 'filename="deep-bicubic-x3.png"' in response.headers["content-disposition"]
    result = decoded(tmp_path, "result.png", response.content)
    assert (result.width, result.height, result.bit_depth) == (21, 27, 16)
    assert result.has_alpha and not result.is_gray
    source = decoded(tmp_path, "deep.png", data)
    expected = Upscaler(load_model("bicubic", scale=3)).upscale(source)
    assert np.abs(result.rgb - expected.rgb).max() <= 0.5 / 65535
    assert np.abs(result.alpha - expected.alpha).max() <= 0.5 / 65535
    # the answer is also the file kept under --out/results; the upload is kept beside it
    results = out_dir / "results" / "deep-bicubic-x3.png"
    assert results.read_bytes() == response.content
    written = files_under(out_dir)
    assert len(written) == 2 and written[1].parent == Path("uploads")
    assert written[1].name.startswith("deep-") and written[1].suffix == ".png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep.png", "out", "result.png"]


def test_upscale_writes_what_the_cli_writes(client: TestClient, tmp_path: Path) -> None:
    """Same format, bit depth, colour mode and metadata as `srlab upscale` (the CLI's batch
    path with the same model), byte for byte."""
    gray = noise_image(10, 12, 1)
    data = encoded(gray, "JPEG", quality=90, exif=Image.Exif().tobytes())
    response = post_upscale(client, "gray.jpg", data, scale=2, model="bicubic")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    (tmp_path / "gray.jpg").write_bytes(data)
    cli_out = tmp_path / "cli" / "gray.jpg"
    report = run_batch(
        [Job(tmp_path / "gray.jpg", cli_out)], Upscaler(load_model("bicubic", scale=2)),
        report=lambda message: None,
    )
    assert report.written == [cli_out]
    assert response.content == cli_out.read_bytes()
    assert Image.open(io.BytesIO(response.content)).mode == "L"


def test_file_name_is_sanitised_and_nothing_is_overwritten(
    client: TestClient, out_dir: Path
) -> None:
    data = encoded(noise_image(6, 5, 3), "PNG")
    names = []
    for _ in range(2):
        response = post_upscale(client, "../../../etc/.pass wd?.png", data, scale=2,
                                model="bicubic")
        assert response.status_code == 200
        names.append(response.headers["content-disposition"])
    assert names[0] == 'attachment; filename="pass_wd-bicubic-x2.png"'
    # the same request is served from the same file: no second copy, no overwrite
    assert names[1] == names[0]
    written = files_under(out_dir)
    assert all(".." not in p.parts and not p.name.startswith(".") for p in written)
    results = [p for p in written if p.parts[0] == "results"]
    assert results == [Path("results/pass_wd-bicubic-x2.png")]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.JPG", "photo"),
        ("../../x/y/../z.png", "z"),
        ("C:\\Users\\me\\holiday pic.tif", "holiday_pic"),
        (".hidden.png", "hidden"),
        ("..", "image"),
        ("", "image"),
        ("Ünïcödé ñame.webp", "Unicode_name"),
        ("a" * 300 + ".png", "a" * 60),
        ("con\x00trol\n.png", "con_trol"),
    ],
)
def test_safe_stem(name: str, expected: str) -> None:
    assert safe_stem(name) == expected


# -- bad input ---------------------------------------------------------------------------

_PNG = encoded(noise_image(32, 32, 3), "PNG")
_JPEG = encoded(noise_image(32, 32, 3), "JPEG")
BAD_FILES = {
    "empty.png": (b"", "empty"),
    "truncated.png": (_PNG[: len(_PNG) // 2], "truncated"),
    "truncated.jpg": (_JPEG[: len(_JPEG) // 2], "truncated"),
    "notes.png": (b"hello, I am not a picture\n", "not a PNG, JPEG"),
    "corrupt.png": (_PNG[:60] + b"\x00" * 50 + _PNG[110:], "corrupt"),
    "bomb.png": (png_header_only(60_000, 60_000), "decompression-bomb"),
    "huge.png": (black_png(4100, 4000), "more than the limit of 16,000,000 (srlab serve"),
    "forged.png": (png_header_only(12_000, 12_000), "truncated or forged"),
    "anim.webp": (b"", "frames"),  # filled below: two frames
}


def _animated_webp() -> bytes:
    frames = [Image.fromarray(noise_image(8, 8, 3, seed=s)) for s in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("route", ["/api/upscale", "/api/images"])
def test_bad_files_get_one_readable_line_and_the_server_stays_up(
    client: TestClient, out_dir: Path, name: str, route: str
) -> None:
    data, reason = BAD_FILES[name]
    data = _animated_webp() if name == "anim.webp" else data
    response = client.post(route, files={"file": (name, data)}, data={"scale": "2"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(f"cannot read {name}: ") and reason in message, message
    assert "\n" not in message and str(out_dir) not in message
    assert files_under(out_dir) == []  # nothing kept of a refused file
    assert client.get("/api/models").status_code == 200


def test_missing_file_field_and_non_form_bodies_are_refused(client: TestClient) -> None:
    assert "field 'file'" in client.post("/api/upscale", data={"scale": "2"}).json()["error"]
    response = client.post(
        "/api/upscale", content=b"\x89PNG", headers={"content-type": "image/png"}
    )
    assert response.status_code == 400 and "multipart" in response.json()["error"]


def test_request_size_limit(make_client, out_dir: Path) -> None:
    client = make_client(max_upload_bytes=4096)
    data = encoded(noise_image(64, 64, 3), "PNG")
    assert len(data) > 4096
    response = post_upscale(client, "big.png", data, scale=2, model="bicubic")
    assert response.status_code == 413
    assert "this server accepts at most 4.0 KiB" in response.json()["error"]
    assert files_under(out_dir) == []


def test_pixel_limits_of_input_and_result(make_client) -> None:
    client = make_client(max_pixels=1000, max_output_pixels=4000)
    big = encoded(noise_image(40, 30, 3), "PNG")
    response = post_upscale(client, "wide.png", big, scale=2, model="bicubic")
    assert response.status_code == 400
    assert "30 x 40 = 1,200 pixels, more than the limit of 1,000" in response.json()["error"]
    small = encoded(noise_image(20, 30, 3), "PNG")  # 600 pixels; x3 -> 5400 > 4000
    response = post_upscale(client, "small.png", small, scale=3, model="bicubic")
    assert response.status_code == 413
    assert "choose a smaller scale" in response.json()["error"]
    assert post_upscale(client, "small.png", small, scale=2, model="bicubic").status_code == 200


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"model": "no-such-model", "scale": 2}, "unknown model"),
        ({"model": "/etc/passwd", "scale": 2}, "unknown model"),
        ({"model": "srrescgan-real-x4", "scale": 2}, "does not run at x2"),
        ({"model": "bicubic", "scale": 0}, "does not run at x0"),
        ({"model": "bicubic", "scale": "two"}, "scale must be an integer"),
        ({"model": "bicubic", "scale": 2, "noise": 0.5}, "no noise input"),
        ({"model": "gmgbp-r3", "scale": 2, "noise": 1.5}, "between 0 and 1"),
        ({"model": "gmgbp-r3", "scale": 2, "noise": "nan"}, "between 0 and 1"),
        ({"model": "gmgbp-r3", "scale": 2, "seed": -1}, "seed must be"),
        ({"model": "gmgbp-r3", "scale": 2, "noise": 0.1, "ensemble": "true"}, "ensemble"),
    ],
)
def test_bad_settings_are_refused(client: TestClient, fields: dict, reason: str) -> None:
    response = post_upscale(client, "a.png", encoded(noise_image(4, 4, 3), "PNG"), **fields)
    assert response.status_code == 400 and reason in response.json()["error"]


# -- the page's job endpoints --------------------------------------------------------------


def test_job_flow_preview_download_and_cache(client: TestClient, out_dir: Path) -> None:
    image = upload(client, "rgb.webp", encoded(noise_image(8, 10, 3), "WEBP", lossless=True))
    assert (image["width"], image["height"], image["format"]) == (10, 8, "WEBP")
    settings = {"image": image["id"], "model": "bicubic", "scale": 4}
    job = wait_done(client, client.post("/api/jobs", json=settings).json())
    assert job["state"] == "done" and (job["width"], job["height"]) == (40, 32)
    preview = Image.open(io.BytesIO(client.get(f"/api/jobs/{job['id']}/preview.png").content))
    assert preview.size == (40, 32) and preview.mode == "RGB"
    before = Image.open(io.BytesIO(client.get(f"/api/images/{image['id']}/preview.png").content))
    assert before.size == (10, 8)
    download = client.get(f"/api/jobs/{job['id']}/download")
    assert download.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(download.content)).size == (40, 32)
    again = client.post("/api/jobs", json=settings).json()  # cached: answered at once
    assert again["state"] == "done" and again["id"] != job["id"]
    assert client.get(f"/api/jobs/{again['id']}/download").content == download.content
    assert len([p for p in files_under(out_dir) if p.parts[0] == "results"]) == 1


def test_job_errors(client: TestClient) -> None:
    assert client.post("/api/jobs", json={"image": "nope"}).status_code == 404
    assert client.post("/api/jobs", content=b"{not json").status_code == 400
    assert client.get("/api/jobs/unknown").status_code == 404
    assert client.get("/api/jobs/unknown/download").status_code == 404
    assert client.get("/api/images/unknown/preview.png").status_code == 404
    too_big = b"{" + b" " * (70 << 10) + b"}"
    assert client.post("/api/jobs", content=too_big).status_code == 413


def test_default_model_w_path(client: TestClient) -> None:
    """G-MGBP on a small image: W changes the picture, the same seed repeats it, a cached
    result comes back at once and the steps around a requested W are precomputed."""
    image = upload(client, "small.png", encoded(noise_image(12, 16, 3), "PNG"))
    base = {"image": image["id"], "scale": 2, "seed": 3}
    step = 4
    first = wait_done(client, client.post("/api/jobs", json=base | {"noise": W_STEPS[step]}).json())
    assert first["model"] == DEFAULT_MODEL and first["state"] == "done"
    assert first["tiles_done"] == first["tiles_total"] == 1
    deadline = time.monotonic() + 120
    while client.get("/api/queue").json() and time.monotonic() < deadline:
        time.sleep(0.1)  # neighbours being precomputed
    pictures = {}
    for index in (step - 2, step - 1, step, step + 1, step + 2):
        job = client.post("/api/jobs", json=base | {"noise": W_STEPS[index]}).json()
        assert job["state"] == "done", f"W step {index} was not precomputed"
        png = client.get(f"/api/jobs/{job['id']}/preview.png").content
        pictures[index] = np.asarray(Image.open(io.BytesIO(png)), dtype=np.float64)
    assert np.abs(pictures[step + 2] - pictures[step - 2]).mean() > 0.5
    zero = wait_done(client, client.post("/api/jobs", json=base | {"noise": 0}).json())
    other_seed = wait_done(
        client, client.post("/api/jobs", json=base | {"noise": W_STEPS[step], "seed": 4}).json()
    )
    assert zero["state"] == other_seed["state"] == "done"
    for job in (zero, other_seed):
        png = client.get(f"/api/jobs/{job['id']}/preview.png").content
        assert not np.array_equal(np.asarray(Image.open(io.BytesIO(png))), pictures[step])
