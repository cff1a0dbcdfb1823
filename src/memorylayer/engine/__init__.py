"""The engine: remember, recall, forget, history; dedup, extraction, ranking and context building."""

from .core import Engine
from .ranking import DEFAULT_RANKING, RankingConfig

__all__ = ["DEFAULT_RANKING", "Engine", "RankingConfig"]
