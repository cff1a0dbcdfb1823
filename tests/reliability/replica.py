"""One server replica for the reliability suite: ``python replica.py HOME PORT_FILE``.

It is the real app under uvicorn on a free loopback port, opened on the home's database like every
other replica; it writes its port to PORT_FILE once it listens and serves until it is killed.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn

from memorylayer.config import Settings
from memorylayer.server import create_app


def main(home: Path, port_file: Path) -> None:
    app = create_app(Settings.load(home=home))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", ws="none")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets)
        temporary = port_file.with_suffix(".tmp")
        temporary.write_text(str(port), encoding="utf-8")
        temporary.replace(port_file)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
