"""The ``--json`` shapes of the CLI: one object per command, snake_case keys, ``namespace`` for the scope.

Records carry what a user of the command can act on; storage internals (the content hash, the
embedding model, the account of a local home) stay out. docs/cli.md shows each command's object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..types import iso_ms

if TYPE_CHECKING:
    from ..store.accounts import Account, ApiKey
    from ..types import HistoryEntry, MemoryRecord, Ranking


def memory(record: MemoryRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "namespace": record.scope,
        "key": record.key,
        "value": record.value,
        "metadata": record.metadata,
        "importance": record.importance,
        "source": record.source,
        "status": record.status,
        "created_at": iso_ms(record.created_at),
        "updated_at": iso_ms(record.updated_at),
        "last_recalled_at": iso_ms(record.last_recalled_at),
        "recall_count": record.recall_count,
        "superseded_by": record.superseded_by,
        "expires_at": iso_ms(record.expires_at),
        "valid_from": iso_ms(record.valid_from if record.valid_from is not None else record.created_at),
        "valid_to": iso_ms(record.valid_to),
    }


def ranking(r: Ranking) -> dict[str, Any]:
    """Recall's ranking: the wire's strategy (and reason), then how, by what and how well it ranked."""
    return {
        "strategy": r.strategy,
        "reason": r.reason,
        "ordering": r.ordering,
        "signals": r.signals,
        "scores": r.scores,
    }


def history_entry(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "memory_id": entry.memory_id,
        "namespace": entry.scope,
        "key": entry.key,
        "value": entry.value,
        "metadata": entry.metadata,
        "importance": entry.importance,
        "source": entry.source,
        "event": entry.event,
        "replaced_at": iso_ms(entry.replaced_at),
        "replaced_by": entry.replaced_by,
        "valid_from": iso_ms(entry.valid_from),
        "valid_to": iso_ms(entry.valid_to),
    }


def account(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "email": a.email,
        "plan_tier": a.plan_tier,
        "memory_limit": a.memory_limit,
        "monthly_api_call_limit": a.monthly_api_call_limit,
        "parent_account_id": a.parent_account_id,
        "name": a.name,
        "created_at": iso_ms(a.created_at),
    }


def api_key(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "account_id": k.account_id,
        "key_prefix": k.key_prefix,
        "scopes": k.scopes,
        "name": k.name,
        "created_at": iso_ms(k.created_at),
        "expires_at": iso_ms(k.expires_at),
        "revoked_at": iso_ms(k.revoked_at),
    }
