"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: the stand-in for a mail relay."""

from __future__ import annotations

import email
import email.message
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """The messages the stand-in received, oldest first."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def code_for(self, address: str) -> str:
        """The 6-digit code of the latest message to ``address``."""
        for message in reversed(self.messages):
            if message["To"] == address:
                match = re.search(r"\b(\d{6})\b", message.get_payload())
                assert match
                return match.group(1)
        raise AssertionError(f"no mail for {address}")


@contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free loopback port: yields its inbox and port, and stops it afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
