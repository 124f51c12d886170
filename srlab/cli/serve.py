"""`srlab serve`: the local web page (and HTTP API) for upscaling photos."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from srlab.io import remove_stale_temp_files
from srlab.serve.settings import MIB, Limits, ServeSettings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


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
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="folder for uploads and results (default: a temporary folder, "
                        "removed at exit)")
    p.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_bytes / MIB,
                   help="largest upload in MiB (default: %(default)s)")
    p.add_argument("--max-pixels", type=int, default=defaults.max_pixels,
                   help="largest input, width x height (default: %(default)s)")
    p.add_argument("--max-output-pixels", type=int, default=defaults.max_output_pixels,
                   help="largest result, width x height (default: %(default)s)")
    p.add_argument("--cache-mb", type=int, default=defaults.cache_bytes // MIB,
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
    temporary = args.out is None
    out = Path(tempfile.mkdtemp(prefix="srlab-serve-")) if temporary else args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
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
