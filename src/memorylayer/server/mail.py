"""Delivery of sign-in codes: SMTP when configured, a private file in the home in local mode."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from ..errors import InternalError
from ..files import append_private
from ..types import iso_ms, now_ms
from .settings import ServerSettings

log = logging.getLogger("memorylayer.server")
#: Local mode's delivery channel, in the MemoryLayer home: only its owner can read it, and no request
#: can write a line to it (the log, which anyone can make the server write to, never holds a code).
CODES_FILE = "sign-in-codes.txt"


def send_code(settings: ServerSettings, email: str, code: str, *, home: Path) -> None:
    """Send ``code`` to ``email``; without ``smtp_host`` it is appended to ``<home>/sign-in-codes.txt``.

    Raises:
        InternalError: the SMTP server refused the message or could not be reached.
        StorageError: local mode could not write the codes file.
    """
    if not settings.smtp_host:
        path = home / CODES_FILE
        append_private(path, f"{iso_ms(now_ms())}\t{email}\t{code}\n")
        log.warning("sign-in code for %s written to %s (no SMTP configured; set smtp_host to email it)", email, path)
        return
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email
    message["Subject"] = f"Your MemoryLayer sign-in code: {code}"
    message.set_content(
        f"Your MemoryLayer sign-in code is {code}.\n\n"
        f"It expires in {settings.code_ttl_s // 60} minutes. If you did not ask for it, ignore this email.\n"
    )
    try:
        if settings.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with smtp:
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send sign-in code to %s via %s:%s: %s", email, settings.smtp_host, settings.smtp_port, exc)
        raise InternalError("Could not send the verification email") from exc
