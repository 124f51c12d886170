"""Reading a multipart form with a size cap, entirely in memory.

Starlette's own form parser spools large files to the system's temporary folder; this
server writes nothing outside its output folder, so the body (capped at
`Limits.max_upload_bytes`) is parsed in memory with python-multipart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, create_form_parser
from starlette.requests import Request


class FormError(ValueError):
    """The request body is not a well-formed multipart form; the message says why."""


class TooLarge(FormError):
    """The request body is larger than the server accepts."""


@dataclass
class Upload:
    """The file part of a form: the client's file name (a label only) and its bytes."""

    filename: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole request body; TooLarge past `max_bytes` (checked as it arrives)."""
    _check_declared(request, max_bytes)
    chunks, received = [], 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise TooLarge(_too_large(received, max_bytes, at_least=True))
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, max_bytes: int) -> Form:
    """The request's multipart form; TooLarge past `max_bytes`, FormError if malformed."""
    _check_declared(request, max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise FormError("send the image as multipart/form-data (field 'file')")
    form = Form()

    def on_field(part: Field) -> None:
        name = (part.field_name or b"").decode("utf-8", "replace")
        form.fields[name] = (part.value or b"").decode("utf-8", "replace")

    def on_file(part: File) -> None:
        name = (part.field_name or b"").decode("utf-8", "replace")
        part.file_object.seek(0)
        filename = (part.file_name or b"").decode("utf-8", "replace")
        form.files[name] = Upload(filename, part.file_object.read())

    try:
        parser = create_form_parser(
            {"Content-Type": content_type.encode("latin-1")},
            on_field,
            on_file,
            config={"MAX_MEMORY_FILE_SIZE": max_bytes + 1, "MAX_BODY_SIZE": max_bytes},
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise TooLarge(_too_large(received, max_bytes, at_least=True))
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as err:
        if isinstance(err, FormError):
            raise
        raise FormError(f"malformed multipart form: {err}") from err
    return form


def _check_declared(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(_too_large(int(declared), max_bytes))


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"the upload is {more}{_size(size)}; this server accepts at most {_size(limit)} "
        "(srlab serve --max-upload-mb)"
    )


def _size(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size / 1024:.1f} KiB"
