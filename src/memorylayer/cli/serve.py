"""``memorylayer serve``: the WithMemory-compatible HTTP server on the local engine."""

from __future__ import annotations

import logging

import typer

from ..errors import MemoryLayerError
from .app import app, fail, stderr
from .options import Database, Home, load_settings


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8787, help="TCP port."),
    database: Database = None,
    home: Home = None,
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    """Serve the /v1 API (WithMemory wire protocol) until interrupted."""
    import uvicorn

    from ..server import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(home, database)
        application = create_app(settings)
    except MemoryLayerError as error:
        fail(error, as_json=False)
    stderr.print(f"memorylayer server on http://{host}:{port} (database {settings.database_url})", highlight=False)
    # The app logs one escaped line per request itself (memorylayer.server); uvicorn's access log
    # would be a second, unescaped one.
    uvicorn.run(application, host=host, port=port, log_level=log_level, proxy_headers=False, access_log=False)
