"""Extraction through any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp server…)."""

from __future__ import annotations

import json
import re
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from ...errors import ExtractionFailed
from ...limits import VALUE
from .prompts import DEFAULT_PROMPT


class OpenAIExtractor:
    """Extraction through an OpenAI-compatible ``/chat/completions`` endpoint.

    One request per :meth:`extract` (no retries), temperature 0, ``response_format`` JSON object,
    messages ``[system: prompt, user: text]``. Call :meth:`close` (or use ``with``) when done.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self._where = _redact_url(self.base_url)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"OpenAIExtractor(base_url={self._where!r}, model={self.model!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def extract(self, text: str, *, prompt: str | None = None) -> list[str]:
        """The facts of :meth:`extract_facts`, without their slots."""
        return [fact for fact, _ in self.extract_facts(text, prompt=prompt)]

    def extract_facts(self, text: str, *, prompt: str | None = None) -> list[tuple[str, str | None]]:
        """Ask the model for the durable facts in ``text``, each with the slot it names (or None).

        ``prompt`` replaces :data:`DEFAULT_PROMPT` as the system message when it is not blank.

        Raises:
            ExtractionFailed: the endpoint could not be reached, timed out, answered an HTTP error,
                or answered something that is not ``{"memories": [...]}`` (strings, or objects with
                ``text`` and an optional ``slot``). The message never
                contains the API key.
        """
        system = prompt if prompt and prompt.strip() else DEFAULT_PROMPT
        data = self.complete_json(system, text)
        memories = data.get("memories")
        if not isinstance(memories, list):
            raise self._failed('answered JSON without a "memories" list')
        facts: dict[str, str | None] = {}
        for m in memories:
            # A fact is a string, or {"text": …, "slot": …} naming the slot it fills (engine/slots.py).
            fact, slot = (m, None) if isinstance(m, str) else (None, None)
            if isinstance(m, dict):
                fact, slot = m.get("text"), m.get("slot")
            if isinstance(fact, str) and fact.strip():
                facts.setdefault(_cap_units(fact.strip()), slot if isinstance(slot, str) else None)
        return list(facts.items())

    def complete_json(self, system: str, user: str) -> dict[str, Any]:
        """One chat completion in JSON mode (temperature 0): the JSON object the model answered.

        Shared by extraction and the operations that ask the model (recall answer, verify).

        Raises:
            ExtractionFailed: unreachable, timed out, an HTTP error, or content that is not a JSON object.
        """
        body = {
            "model": self.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        try:
            response = self._client.post(f"{self.base_url}/chat/completions", json=body)
        except httpx.TimeoutException:
            raise self._failed(f"timed out after {self.timeout:g}s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._failed(f"could not be reached ({type(exc).__name__})") from None
        if response.status_code >= 400:
            # Providers echo the rejected key, sometimes masked ("sk-ab***yz"): never repeat it.
            detail = _error_text(response)
            if self._api_key:
                detail = detail.replace(self._api_key, "[redacted]")
            detail = _redact_keys(detail)
            detail = (detail[:200] + "…") if len(detail) > 200 else detail
            raise self._failed(f"answered HTTP {response.status_code}: {detail}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._failed("answered something that is not a chat completion") from None
        if not isinstance(content, str):
            raise self._failed("answered a message without text content")
        try:
            data = json.loads(_strip_code_fence(content))
        except ValueError:
            raise self._failed("answered text that is not JSON") from None
        if not isinstance(data, dict):
            raise self._failed('answered JSON without a "memories" list')
        return data

    def _failed(self, what: str) -> ExtractionFailed:
        message = f"extraction model {self.model!r} at {self._where} {what}"
        if self._api_key:
            message = message.replace(self._api_key, "[redacted]")
        return ExtractionFailed(message)


def _redact_url(url: str) -> str:
    """``url`` without user info or query string (either may hold a credential)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "an invalid URL"
    host = parts.hostname or ""
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_KEY_LIKE = re.compile(r"[A-Za-z0-9_\-*.]{20,}")


def _redact_keys(text: str) -> str:
    """``text`` with every long run that mixes letters and digits (a key, or a masked key) removed."""

    def hide(match: re.Match[str]) -> str:
        run = match.group(0)
        mixed = any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
        return "[redacted]" if mixed or "*" in run else run

    return _KEY_LIKE.sub(hide, text)


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        message = data["error"]["message"] if isinstance(data.get("error"), dict) else data["error"]
        text = str(message)
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.text
    return " ".join(text.split()) or response.reason_phrase


def _strip_code_fence(content: str) -> str:
    # Some local servers wrap JSON mode output in a Markdown fence despite response_format.
    match = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", content, flags=re.DOTALL)
    return match.group(1) if match else content


def _cap_units(text: str) -> str:
    encoded = text.encode("utf-16-le")
    if len(encoded) <= VALUE.max * 2:
        return text
    return encoded[: VALUE.max * 2].decode("utf-16-le", errors="ignore").rstrip()
