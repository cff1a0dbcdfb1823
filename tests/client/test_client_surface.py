"""Every SDK method against the real server app in-process, for both Client and AsyncClient."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sdk_helpers import RealServer

from memorylayer.client import models as m
from memorylayer.errors import NotFound, Unauthorized
from support import delivered_code

Make = Callable[..., Any]


def test_keyed_add_upserts_and_get_returns_the_live_value(sdk: Make) -> None:
    client = sdk()

    first = client.add("user-alice", "Alice", key="name", importance=0.9)
    second = client.add("user-alice", "Alice Chen", key="name")
    fetched = client.get("user-alice", "name")

    assert isinstance(first, m.AddResponse) and first.request_id
    assert [mem.value for mem in second.memories] == ["Alice Chen"]
    assert second.memories[0].id == first.memories[0].id
    assert fetched.memory is not None and fetched.memory.value == "Alice Chen"
    assert fetched.memory.source == "explicit" and fetched.memory.key == "name"
    assert client.get("user-alice", "missing").memory is None


def test_free_text_add_extracts_keyless_facts(sdk: Make) -> None:
    client = sdk()

    response = client.add("user-bob", "I am a vegetarian and I live in Lisbon.")

    assert response.memories
    assert all(mem.key is None and mem.source == "extracted" for mem in response.memories)
    assert all(mem.scope == "user-bob" for mem in response.memories)


def test_same_idempotency_key_does_not_extract_again_on_the_real_server(sdk: Make) -> None:
    client = sdk()

    first = client.add("user-carol", "I live in Oslo and I work as a nurse.", idempotency_key="turn-1")
    again = client.add("user-carol", "I live in Oslo and I work as a nurse.", idempotency_key="turn-1")

    assert [mem.id for mem in again.memories] == [mem.id for mem in first.memories]
    assert client.list(scope="user-carol", include_total=True).total == len(first.memories)


def test_recall_honours_max_items_and_max_tokens(sdk: Make) -> None:
    client = sdk()
    for key, value in [
        ("drink", "User likes black coffee"),
        ("food", "User likes ramen"),
        ("city", "User likes Lisbon"),
    ]:
        client.add("user-dan", value, key=key)

    two = client.recall("user-dan", "what does the user like?", max_items=2, threshold="permissive")
    tight = client.recall("user-dan", "what does the user like?", max_tokens=10)
    coffee = client.recall("user-dan", "coffee", threshold="strict")

    assert isinstance(two, m.RecallResponse)
    assert len(two.memories) == 2
    assert len(two.context.splitlines()) == 2
    assert two.ranking.strategy
    assert len(tight.context) <= 40
    assert coffee.memories[0].key == "drink"


def test_registered_defaults_fill_recall_and_per_call_defaults_win(sdk: Make) -> None:
    client = sdk()
    client.register({"timezone": "UTC", "language": "English"})

    registered = client.recall("nobody-yet", "anything")
    overridden = client.recall("nobody-yet", "anything", defaults={"language": "Portuguese"})

    assert registered.memories == []
    assert registered.context == "timezone: UTC\nlanguage: English"
    assert overridden.context == "timezone: UTC\nlanguage: Portuguese"


def test_remove_by_key_and_delete_by_id(sdk: Make) -> None:
    client = sdk()
    client.add("user-eve", "Tea", key="drink")
    kept = client.add("user-eve", "Berlin", key="city").memories[0]

    assert client.remove("user-eve", "drink").result.deleted is True
    assert client.remove("user-eve", "drink").result.deleted is False
    assert client.delete(kept.id).result.deleted is True
    assert client.delete(kept.id).result.deleted is False
    assert client.list(scope="user-eve").memories == []


def test_list_applies_every_filter_and_pages_with_a_cursor(sdk: Make, real_server: RealServer) -> None:
    client = sdk()
    before = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(5):
        client.add("user-fay", f"value {i}", key=f"k{i}", importance=i / 10)
    client.add("user-gus", "Gus likes chess", key="hobby")
    client.add("user-fay", "I am allergic to peanuts.")

    page = client.list(scope="user-fay", source="explicit", limit=2, include_total=True)
    rest = client.list(scope="user-fay", source="explicit", limit=10, cursor=page.next_cursor)
    searched = client.list(search="chess")
    extracted = client.list(scope="user-fay", source="extracted")
    ordered = client.list(scope="user-fay", source="explicit", order_by="importance", order_dir="asc")
    after = client.list(created_after=before, created_before=datetime.now(UTC) + timedelta(minutes=1))
    future = client.list(created_after="2999-01-01T00:00:00.000Z")

    assert page.total == 5 and len(page.memories) == 2 and page.next_cursor
    assert rest.next_cursor is None
    assert {mem.key for mem in page.memories + rest.memories} == {f"k{i}" for i in range(5)}
    assert [mem.key for mem in searched.memories] == ["hobby"]
    assert extracted.memories and all(mem.source == "extracted" for mem in extracted.memories)
    assert [mem.key for mem in ordered.memories] == ["k0", "k1", "k2", "k3", "k4"]
    assert len(after.memories) == len(client.list(limit=200).memories)
    assert future.memories == []


def test_iter_memories_walks_every_page(sdk: Make) -> None:
    client = sdk()
    for i in range(7):
        client.add("user-hal", f"fact {i}", key=f"fact-{i}")

    walked = list(client.iter_memories(scope="user-hal", page_size=3, order_by="created_at", order_dir="asc"))

    assert [mem.key for mem in walked] == [f"fact-{i}" for i in range(7)]
    assert all(isinstance(mem, m.Memory) for mem in walked)


def test_health_whoami_usage_and_billing_describe_the_account(sdk: Make) -> None:
    client = sdk("pro")
    client.add("user-ida", "Ida", key="name")

    health = client.health()
    who = client.whoami()
    usage = client.usage()
    billing = client.billing()

    assert health.health.status == "ok"
    assert who.account.plan_tier == "pro" and who.account.email.endswith("@example.com")
    assert "memory:write" in who.key.scope_list
    assert usage.usage.memory_count == 1 and usage.usage.container_limit == 10
    assert usage.usage.api_calls_this_period is not None and usage.usage.api_calls_this_period >= 3
    assert billing.billing.plan_tier == "pro" and billing.billing.usage.memory_count == 1


def test_extraction_prompt_can_be_set_read_and_reset(sdk: Make) -> None:
    client = sdk("pro")

    assert client.get_extraction_prompt().extraction_prompt.source == "default"
    stored = client.set_extraction_prompt("  Extract only food preferences.  ")
    read = client.get_extraction_prompt()
    reset = client.reset_extraction_prompt()

    assert stored.extraction_prompt.prompt == "Extract only food preferences."
    assert read.extraction_prompt.source == "custom"
    assert read.extraction_prompt.prompt == "Extract only food preferences."
    assert reset.result.reset is True
    after = client.get_extraction_prompt().extraction_prompt
    assert after.prompt is None and after.source == "default"


def test_cache_lives_without_an_account_and_is_claimed_into_a_container(sdk: Make) -> None:
    anonymous = sdk(api_key=None)
    owner = sdk("free")

    cache = anonymous.cache.create(ttl_seconds=3600)
    cache.set("user:name", "Alice")
    cache.set("user:city", "Lisbon")
    cache.set("user:city", "Porto")
    got = cache.get("user:city")
    missing = cache.get("nope")
    deleted = cache.delete("user:name")
    listed = cache.list()
    claimed = owner.cache.claim(cache.claim_token)

    assert cache.id and cache.claim_token in cache.claim_url
    assert cache.expires_at > datetime.now(UTC)
    assert got.entry is not None and got.entry.value == "Porto"
    assert missing.entry is None
    assert deleted.result.deleted is True
    assert [entry.key for entry in listed.entries] == ["user:city"]
    assert claimed.result.claimed and claimed.result.memories_created == 1
    container = sdk(api_key=claimed.result.container_key)
    recalled = container.recall(claimed.result.scope, "where does the user live?")
    assert recalled.context == "user:city: Porto"
    with pytest.raises(Unauthorized):
        cache.list()


def test_containers_full_lifecycle(sdk: Make) -> None:
    owner = sdk("pro")

    created = owner.containers.create("workspace", metadata={"team": "search"})
    container_id = created.container.id
    listed = owner.containers.list()
    key = owner.containers.create_key(container_id, "my-agent", scopes=["memory:read", " memory:write"])
    inside = sdk(api_key=key.raw_key)
    inside.add("user-1", "Prefers dark mode", key="theme")
    inside_account = inside.whoami().account
    got = owner.containers.get(container_id)
    revoked = owner.containers.revoke_key(container_id, key.key.id)

    assert created.container.metadata == {"team": "search"}
    assert [c.id for c in listed.containers] == [container_id] and listed.total == 1
    assert key.key.scopes == "memory:read,memory:write" and key.raw_key.startswith("wm_live_")
    assert inside_account.id == container_id
    assert got.container.memory_count == 1 and got.container.active_key_count == 1
    assert revoked.result.revoked is True
    with pytest.raises(Unauthorized):
        inside.whoami()
    assert owner.containers.delete(container_id).result.deleted is True
    with pytest.raises(NotFound):
        owner.containers.get(container_id)


def test_sign_in_with_an_emailed_code_returns_a_working_key(sdk: Make, real_server: RealServer) -> None:
    anonymous = sdk(api_key=None)
    email = "new.agent@example.com" if anonymous.__class__.__name__ == "Client" else "new.async@example.com"

    sent = anonymous.request_code(email)
    code = delivered_code(real_server.home, email)
    assert sent.result.sent is True and code is not None
    verified = anonymous.verify_code(email, code, issued_to="sdk-test/1.0")

    assert verified.result.is_new_account is True
    who = sdk(api_key=verified.result.api_key).whoami()
    assert who.account.id == verified.result.account_id
    assert who.key.name == "sdk-test/1.0"


def test_client_id_is_sent_as_x_withmemory_client(sdk: Make, caplog: pytest.LogCaptureFixture) -> None:
    client = sdk(client_id="my-agent/2.1")

    with caplog.at_level(logging.INFO, logger="memorylayer.server"):
        client.health()
        # The server logs after the response has gone out; give its thread a bounded moment.
        deadline = time.monotonic() + 5
        while "client=my-agent/2.1" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)

    assert "client=my-agent/2.1" in caplog.text


def test_every_response_carries_the_request_id(sdk: Make) -> None:
    client = sdk()

    ids = {client.health().request_id, client.whoami().request_id, client.list().request_id}

    assert len(ids) == 3 and all(ids)
