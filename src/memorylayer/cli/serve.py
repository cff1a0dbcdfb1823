"""``memorylayer serve``: the WithMemory-compatible HTTP server on the local engine."""

from __future__ import annotations

import errno
import logging
import os
import socket
from typing import Annotated, Literal

import typer

from ..errors import AddressInUse, InvalidRequest, MemoryLayerError
from .options import Database, Home, load_settings
from .render import fail, note
from .root import app, needs_extra

LogLevel = Literal["debug", "info", "warning", "error"]


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, bound before the app loads so a busy port fails at once.

    Raises:
        AddressInUse: another process holds the port.
        InvalidRequest: the host does not resolve or the address cannot be used (a privileged port...).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InvalidRequest(f"--host {host!r} does not resolve ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(f"{host}:{port} is in use by another process; stop it or pass --port") from None
        raise InvalidRequest(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _banner(host: str, port: int, database_url: str) -> None:
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    from ..store import display_url

    note(("memorylayer server", "bold"), f" on http://{host}:{port} (database {display_url(database_url)})")
    note("  dashboard   ", base, "/   (sign in with a code; in local mode it is printed in this log)")
    note("  API         ", base, "/v1   reference ", base, "/docs   schema ", base, "/openapi.json")
    note("  MCP         ", base, "/mcp   (streamable HTTP; or `memorylayer mcp` for stdio)")
    note("  next        ", "mint a key: memorylayer admin create-account you@example.com --plan pro")


#: The log level ``serve --workers`` hands its worker processes (they start from nothing: spawned).
WORKER_LOG_LEVEL = "MEMORYLAYER_WORKER_LOG_LEVEL"


def _log_to_stderr(level: str, *, name_process: bool) -> None:
    # With several workers each line says which process wrote it.
    process = " [%(process)d]" if name_process else ""
    logging.basicConfig(level=level.upper(), format=f"%(asctime)s %(levelname)s{process} %(name)s: %(message)s")


def worker_app() -> object:
    """The app of one ``serve --workers`` process: uvicorn's factory takes no arguments, so the home,
    database and log level come through the environment ``serve`` set before spawning it."""
    from ..server import create_app

    _log_to_stderr(os.environ.get(WORKER_LOG_LEVEL, "info"), name_process=True)
    return create_app(load_settings(None, None))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8787,
    database: Database = None,
    home: Home = None,
    log_level: Annotated[LogLevel, typer.Option(help="Server log level.")] = "info",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port (one per core at most).")
    ] = 1,
) -> None:
    """Serve the /v1 API (WithMemory wire protocol), /mcp and the dashboard until interrupted.

    Exits 8 (address_in_use) when the port is taken. Example: memorylayer serve --port 8787
    """
    try:
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from ..server import create_app
    except ModuleNotFoundError as exc:
        needs_extra("server", exc)

    _log_to_stderr(log_level, name_process=workers > 1)
    sock = None
    try:
        sock = listen(host, port)
        settings = load_settings(home, database)
        # Built here even with workers: bad settings fail before anything starts, and the schema and
        # the server secret exist before workers race to create them.
        application = create_app(settings)
    except MemoryLayerError as error:
        if sock is not None:
            sock.close()
        fail(error, as_json=False)
    _banner(host, sock.getsockname()[1], settings.database_url)
    # The app logs one escaped line per request itself (memorylayer.server); uvicorn's access log
    # would be a second, unescaped one.
    if workers == 1:
        config = uvicorn.Config(application, log_level=log_level, proxy_headers=False, access_log=False)
        uvicorn.Server(config).run(sockets=[sock])
        return
    application.state.server.engine.close()
    os.environ.update(
        {
            "MEMORYLAYER_HOME": str(settings.home),
            "MEMORYLAYER_DATABASE": settings.database_url,
            WORKER_LOG_LEVEL: log_level,
        }
    )
    config = uvicorn.Config(
        "memorylayer.cli.serve:worker_app",
        factory=True,
        workers=workers,
        log_config=None,  # each worker logs as worker_app sets up
        log_level=log_level,
        proxy_headers=False,
        access_log=False,
    )
    # The workers share the bound socket; the kernel hands each new connection to one of them.
    Multiprocess(config, sockets=[sock]).run()
