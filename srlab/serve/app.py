"""The ASGI application: the page, its assets and the HTTP API (Starlette).

Every route answers errors as JSON `{"error": "one line"}` with a fitting status; model work
and image decoding run in threads, never on the event loop. No route takes a path: uploads
are bytes, models are catalogue names, results are found by job id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from srlab.io import ImageError
from srlab.serve.cache import CachedResult, ResultCache
from srlab.serve.choices import model_choices
from srlab.serve.form import FormError, TooLarge, read_body, read_form
from srlab.serve.jobs import Job, JobState
from srlab.serve.noise_steps import W_STEPS
from srlab.serve.params import OutputTooLarge, ParamError, check_output_size, parse_params
from srlab.serve.results import cached_preview, preview_png, written_result
from srlab.serve.scheduler import Busy, Scheduler
from srlab.serve.settings import ServeSettings
from srlab.serve.uploads import StoredUpload, UploadError, UploadStore

_ASSETS = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}
_MEDIA_TYPES = {
    "PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "TIFF": "image/tiff",
    "BMP": "image/bmp",
}  # fmt: skip
_MAX_JSON_BYTES = 64 << 10
_POLL_SECONDS = 0.05
_RETRY_AFTER = "2"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:",
    "Referrer-Policy": "no-referrer",
}


def error(status: int, message: str) -> JSONResponse:
    headers = {"Retry-After": _RETRY_AFTER} if status == 503 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Server:
    """The state behind the routes: settings, uploads, cache, scheduler, upload counter."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        limits = settings.limits
        self.uploads = UploadStore(settings.uploads, limits.max_pixels)
        self.cache = ResultCache(limits.cache_bytes)
        self.scheduler = Scheduler(self.uploads, self.cache, limits)
        self.receiving = 0  # uploads being received or decoded (event loop only)
        self.assets = {
            name: (resources.files("srlab.serve") / "static" / name).read_bytes()
            for name in _ASSETS
        }

    # -- page and assets ---------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return self._asset("index.html")

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        return self._asset(name) if name in _ASSETS else error(404, "no such asset")

    def _asset(self, name: str) -> Response:
        return Response(self.assets[name], media_type=_ASSETS[name], headers=_SECURITY_HEADERS)

    # -- catalogue -----------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        return JSONResponse([choice.as_json() for choice in model_choices()])

    async def limits(self, request: Request) -> Response:
        limits = self.settings.limits
        return JSONResponse({
            "max_upload_bytes": limits.max_upload_bytes,
            "max_pixels": limits.max_pixels,
            "max_output_pixels": limits.max_output_pixels,
            "w_steps": list(W_STEPS),
        })

    # -- uploads -------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        """POST /api/images: store and decode one image (multipart field `file`)."""
        stored = await self._receive(request)
        if isinstance(stored, Response):
            return stored
        upload, _fields = stored
        return JSONResponse(upload.as_json())

    async def _receive(self, request: Request) -> tuple[StoredUpload, dict[str, str]] | Response:
        """(upload, other form fields), or the error response."""
        limits = self.settings.limits
        if self.receiving >= limits.max_uploads:
            return error(503, "the server is busy receiving other uploads; try again shortly")
        self.receiving += 1
        try:
            form = await read_form(request, limits.max_upload_bytes)
            part = form.files.get("file")
            if part is None:
                return error(400, "no file: send the image in the multipart field 'file'")
            upload = await run_in_threadpool(self.uploads.add, part.filename, part.data)
        except TooLarge as err:
            return error(413, str(err))
        except (FormError, UploadError) as err:
            return error(400, str(err))
        finally:
            self.receiving -= 1
        return upload, form.fields

    async def input_preview(self, request: Request) -> Response:
        upload = self.uploads.get(request.path_params["image"])
        if upload is None:
            return error(404, "no such image; upload it again")
        try:
            image = await run_in_threadpool(self.uploads.decoded, upload)
        except UploadError as err:
            return error(410, str(err))
        png = await run_in_threadpool(preview_png, image)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    # -- jobs ----------------------------------------------------------------------------

    def _submit(self, upload: StoredUpload, fields: dict, *, page: bool) -> Job | Response:
        """Check the settings and queue the job, or the error response that says why not. A
        page request supersedes the page's earlier ones for the image; an API request is held
        until its caller has its file."""
        try:
            params = parse_params(fields)
            check_output_size(upload, params, self.settings.limits.max_output_pixels)
            key = params.key(upload)
            if page:
                return self.scheduler.submit(
                    upload, key, supersedes=True, w_slider=params.choice.takes_noise
                )
            return self.scheduler.submit(upload, key, hold=True)
        except OutputTooLarge as err:
            return error(413, str(err))
        except ParamError as err:
            return error(400, str(err))
        except Busy as err:
            return error(503, f"busy: {err}")

    async def start_job(self, request: Request) -> Response:
        """POST /api/jobs {image, model, scale, noise, seed, ensemble}: a page request, which
        supersedes the page's earlier requests for the same image."""
        try:
            values = json.loads(await read_body(request, _MAX_JSON_BYTES) or b"{}")
        except TooLarge as err:
            return error(413, str(err))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error(400, "the body must be JSON")
        if not isinstance(values, dict):
            return error(400, "the body must be a JSON object")
        upload = self.uploads.get(str(values.get("image", "")))
        if upload is None:
            return error(404, "no such image; upload it again")
        job = self._submit(upload, values, page=True)
        if isinstance(job, Response):
            return job
        return JSONResponse(job.as_json(self.scheduler.position(job)))

    async def job_status(self, request: Request) -> Response:
        job = self.scheduler.job(request.path_params["job"])
        if job is None:
            return error(404, "no such job")
        return JSONResponse(job.as_json(self.scheduler.position(job)))

    async def job_preview(self, request: Request) -> Response:
        found = self._finished_result(request)
        if isinstance(found, Response):
            return found
        _job, entry = found
        png = await run_in_threadpool(cached_preview, entry)
        self.cache.resized()
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    async def job_download(self, request: Request) -> Response:
        found = self._finished_result(request)
        if isinstance(found, Response):
            return found
        job, entry = found
        return await self._file_response(job, entry)

    def _finished_result(self, request: Request) -> tuple[Job, CachedResult] | Response:
        """(job, cached result) of a finished job, or the error response."""
        job = self.scheduler.job(request.path_params["job"])
        if job is None:
            return error(404, "no such job")
        if job.state is not JobState.DONE:
            return error(409, job.error or f"the job is {job.state.value}, not done")
        entry = job.result or self.cache.get(job.key)
        if entry is None:
            return error(410, "this result left the cache; run it again")
        return job, entry

    async def _file_response(self, job: Job, entry: CachedResult) -> Response:
        try:
            path = await run_in_threadpool(
                written_result, entry, job.upload, job.key, self.settings
            )
        except (ImageError, OSError) as err:
            return error(422, str(err).replace(str(self.settings.out), "<out>"))
        return FileResponse(
            path,
            media_type=_MEDIA_TYPES.get(entry.image.format or "", "application/octet-stream"),
            filename=path.name,
        )

    async def queue(self, request: Request) -> Response:
        return JSONResponse(self.scheduler.snapshot())

    # -- the synchronous API ---------------------------------------------------------------

    async def upscale(self, request: Request) -> Response:
        """POST /api/upscale: multipart `file` + `scale` [`model`, `noise`, `seed`,
        `ensemble`] -> the upscaled image in the input's format (also kept under --out)."""
        stored = await self._receive(request)
        if isinstance(stored, Response):
            return stored
        upload, fields = stored
        job = self._submit(upload, fields, page=False)
        if isinstance(job, Response):
            return job
        try:
            while not job.finished.is_set():
                await asyncio.sleep(_POLL_SECONDS)
            if job.state is JobState.FAILED:
                return error(422, f"cannot upscale {upload.name}: {job.error}")
            if job.state is not JobState.DONE or job.result is None:
                return error(503, f"{upload.name}: {job.error or 'the job did not finish'}")
            return await self._file_response(job, job.result)
        finally:
            self.scheduler.release(job)


def create_app(settings: ServeSettings, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The application writing only under `settings.out`. `allowed_hosts`: Host header values
    accepted (None: any), which stops DNS-rebinding pages from reaching a localhost server."""
    server = Server(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(server.scheduler.stop)

    routes = [
        Route("/", server.page),
        Route("/static/{name}", server.asset),
        Route("/api/models", server.models),
        Route("/api/limits", server.limits),
        Route("/api/images", server.upload, methods=["POST"]),
        Route("/api/images/{image}/preview.png", server.input_preview),
        Route("/api/jobs", server.start_job, methods=["POST"]),
        Route("/api/jobs/{job}", server.job_status),
        Route("/api/jobs/{job}/preview.png", server.job_preview),
        Route("/api/jobs/{job}/download", server.job_download),
        Route("/api/queue", server.queue),
        Route("/api/upscale", server.upscale, methods=["POST"]),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.server = server
    return app

