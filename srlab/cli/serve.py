"""`srlab serve`: the local web page (and HTTP API) for upscaling photos."""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from srlab.cli.arg_types import finite_number, whole_number
from srlab.io import remove_stale_temp_files
from srlab.serve.settings import MIB, Limits, ServeSettings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_PORT = 65535


def add_parser(commands: argparse._SubParsersAction) -> None:
    defaults = Limits()
    p = commands.add_parser(
        "serve",
        help="a local web page: drop photos, pick a model, slide W, compare, download",
        description=(
            "Serve a web page for upscaling photos on this computer, and an HTTP API "
            "(POST /api/upscale, GET /api/models). Results are written only under --out; "
            "without it, a temporary folder that is removed when the server stops."
        ),
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this computer only)")
    p.add_argument("--port", type=whole_number(1, MAX_PORT), default=8000,
                   help="port (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for uploads and results (default: a temporary folder, "
                        "removed at exit)")
    p.add_argument("--max-upload-mb", type=finite_number(0, 2**40 / MIB, above_low=True),
                   default=defaults.max_upload_bytes / MIB,
                   help="largest upload in MiB (default: %(default)s)")
    p.add_argument("--max-pixels", type=whole_number(1, 2**62), default=defaults.max_pixels,
                   help="largest input, width x height (default: %(default)s)")
    p.add_argument("--max-output-pixels", type=whole_number(1, 2**62),
                   default=defaults.max_output_pixels,
                   help="largest result, width x height (default: %(default)s)")
    p.add_argument("--cache-mb", type=whole_number(1, 2**40 // MIB),
                   default=defaults.cache_bytes // MIB,
                   help="memory for cached results in MiB (default: %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn  # imported here: other srlab commands need no web server

    from srlab.serve import create_app

    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * MIB),
        max_pixels=args.max_pixels,
        max_output_pixels=args.max_output_pixels,
        cache_bytes=args.cache_mb * MIB,
    )
    check_listening(args.host, args.port)
    temporary = args.out is None
    out = Path(tempfile.mkdtemp(prefix="srlab-serve-")) if temporary else args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {out}: cannot create the folder ({err.strerror})") from err
    remove_stale_temp_files(out)
    loopback = args.host in LOOPBACK_HOSTS
    app = create_app(
        ServeSettings(out=out, limits=limits),
        allowed_hosts=[*LOOPBACK_HOSTS, "[::1]"] if loopback else None,
    )
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"srlab serve: http://{shown_host}:{args.port}/  (results in {out}"
          f"{', removed at exit' if temporary else ''}; Ctrl-C stops)", file=sys.stderr)
    if not loopback:
        print(f"srlab serve: listening on {args.host}: other computers can reach this page",
              file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if temporary:
            shutil.rmtree(out, ignore_errors=True)
    return 0


def check_listening(host: str, port: int) -> None:
    """Refuse, in one line and before anything starts, an address the server could not listen
    on (an unknown host name, an address not of this computer, a port in use)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as err:
        reason = err.strerror or " ".join(str(err).split())
        raise ValueError(f"cannot listen on {host} port {port} ({reason})") from err
