"""Turning free text into durable facts about the user.

Two extractors share one small protocol:

* :class:`RulesExtractor` (:mod:`.rules`, words in :mod:`.vocabulary`) — offline, no model, conservative:
  a few recognised self-stated sentence shapes become "User …" sentences; everything else yields nothing.
* :class:`OpenAIExtractor` (:mod:`.llm`) — any OpenAI-compatible chat-completions endpoint (OpenAI,
  Ollama, vLLM, llama.cpp server…): one call per text, JSON output ``{"memories": [...]}``, with the
  prompt of :mod:`.prompts` unless the account set its own.
"""

from __future__ import annotations

from typing import Protocol

from ...config import Settings
from .llm import OpenAIExtractor
from .prompts import DEFAULT_PROMPT, PROMPT_VERSION
from .rules import RulesExtractor

__all__ = [
    "DEFAULT_PROMPT",
    "PROMPT_VERSION",
    "Extractor",
    "OpenAIExtractor",
    "RulesExtractor",
    "extract_facts",
    "extractor_from_settings",
]


class Extractor(Protocol):
    """Turns one text into zero or more clean, declarative facts about the user."""

    name: str

    def extract(self, text: str, *, prompt: str | None = None) -> list[str]:
        """The facts found in ``text`` (often none).

        Raises:
            ExtractionFailed: the extractor could not produce an answer.
        """
        ...


def extract_facts(extractor: Extractor, text: str, prompt: str | None) -> list[tuple[str, str | None]]:
    """Each fact with the slot it fills: named by the extractor when it can (an LLM's JSON), else by
    the fact's shape (engine/slots.py)."""
    from ..slots import SLOT_NAME, slot_of

    named = getattr(extractor, "extract_facts", None)
    if named is None:
        return [(fact, slot_of(fact)) for fact in extractor.extract(text, prompt=prompt)]
    pairs: list[tuple[str, str | None]] = named(text, prompt=prompt)
    return [(fact, slot if slot and SLOT_NAME.match(slot) else slot_of(fact)) for fact, slot in pairs]


def extractor_from_settings(settings: Settings) -> Extractor:
    """The configured extractor: the chat endpoint when ``llm_base_url`` is set, else the rules."""
    if settings.llm_base_url.strip():
        return OpenAIExtractor(
            settings.llm_base_url.strip(),
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
        )
    return RulesExtractor()
