"""Idempotency-Key on extraction adds: one run per key, the exact answer for every caller, overlaps included.

Extraction goes to the chat-completions stand-in, so a first attempt can be held open while its
retries arrive, as an SDK retry overlapping a slow first attempt does.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from server_support import Server
from test_transport import assert_error

from memorylayer.limits import IDEMPOTENCY_ABANDONED_S, IDEMPOTENCY_TTL_S
from memorylayer.server import idempotency
from memorylayer.store.accounts import IdempotencyRecord
from standins.openai_chat import MAX_HOLD_SECONDS, ChatCompletionsStandIn
from support import serve_in_thread

FACTS = ["User lives in Oslo.", "User works as a nurse."]
BODY = {"scope": "me", "value": "I live in Oslo and I work as a nurse."}


@pytest.fixture
def llm(llm: ChatCompletionsStandIn) -> ChatCompletionsStandIn:
    """The conftest's stand-in, replying with the facts of ``BODY`` (llm_srv uses this one)."""
    llm.reply_memories(FACTS)
    return llm


def _add(srv: Server, key: str, token: str, body: dict[str, Any] = BODY) -> Any:
    return srv.call("POST", "/v1/memories", key, body, headers={"Idempotency-Key": token})


def _count(srv: Server, key: str) -> int:
    return len(srv.call("POST", "/v1/memories/list", key).json()["memories"])


def test_a_replay_is_the_exact_first_answer_and_writes_nothing(llm_srv: Server, llm: ChatCompletionsStandIn) -> None:
    _, key = llm_srv.account("idem@example.com")
    first = _add(llm_srv, key, "req-1")
    assert first.status_code == 200 and len(first.json()["memories"]) == 2
    llm_srv.call("DELETE", f"/v1/memories/{first.json()['memories'][0]['id']}", key)
    again = _add(llm_srv, key, "req-1")
    assert again.status_code == 200
    assert again.json()["memories"] == first.json()["memories"]  # exact, even for a memory deleted since
    assert again.json()["request_id"] == again.headers["x-request-id"]  # each answer keeps its own id
    assert len(llm.requests) == 1 and _count(llm_srv, key) == 1


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("idem@example.com")
    assert _add(llm_srv, key, "req-1").status_code == 200
    error = assert_error(_add(llm_srv, key, "req-1", {**BODY, "scope": "other"}), 409, "idempotency_conflict")
    assert error["details"] == {"idempotencyKey": "req-1"}
    assert len(llm.requests) == 1 and _count(llm_srv, key) == 2


def test_keys_belong_to_one_account(llm_srv: Server, llm: ChatCompletionsStandIn) -> None:
    _, alice = llm_srv.account("alice@example.com")
    _, bob = llm_srv.account("bob@example.com")
    assert _add(llm_srv, alice, "shared").status_code == 200
    assert _add(llm_srv, bob, "shared", {**BODY, "scope": "bob"}).status_code == 200
    assert len(llm.requests) == 2 and _count(llm_srv, bob) == 2


def test_a_failed_first_attempt_releases_the_key_so_the_retry_runs(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("idem@example.com")
    llm.reply_raw(500, '{"error": {"message": "overloaded"}}')
    assert_error(_add(llm_srv, key, "req-1"), 500, "extraction_failed")
    llm.reply_memories(FACTS)
    retried = _add(llm_srv, key, "req-1")
    assert retried.status_code == 200 and len(retried.json()["memories"]) == 2


def test_an_abandoned_reservation_is_taken_over_and_an_old_answer_expires(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    account_id, key = llm_srv.account("idem@example.com")
    dead = IdempotencyRecord(account_id, "req-1", "print-of-a-dead-request", "tok", llm_srv.clock())
    llm_srv.state.store.reserve_idempotency(dead)
    llm_srv.clock.advance(IDEMPOTENCY_ABANDONED_S)
    assert _add(llm_srv, key, "req-1").status_code == 200  # the dead request's body no longer matters
    llm_srv.clock.advance(IDEMPOTENCY_TTL_S)
    assert _add(llm_srv, key, "req-1", {**BODY, "scope": "later"}).status_code == 200
    assert len(llm.requests) == 2


def test_a_request_still_running_after_the_wait_is_409_in_progress(
    llm_srv: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id, key = llm_srv.account("idem@example.com")
    print_ = idempotency.fingerprint("POST", "/v1/memories", BODY)
    llm_srv.state.store.reserve_idempotency(IdempotencyRecord(account_id, "req-1", print_, "tok", llm_srv.clock()))
    monkeypatch.setattr(idempotency, "IDEMPOTENCY_WAIT_S", 0)
    assert_error(_add(llm_srv, key, "req-1"), 409, "idempotency_in_progress")
    assert _count(llm_srv, key) == 0


def _overlapping(srv: Server, llm: ChatCompletionsStandIn, key: str, bodies: list[dict[str, Any]]) -> list[Any]:
    """Send ``bodies`` at once with one Idempotency-Key while the first extraction is held open."""
    llm.reply_slowly()
    answers: list[Any] = [None] * len(bodies)
    with serve_in_thread(srv.client.app) as url:
        entered = threading.Barrier(len(bodies) + 1, timeout=MAX_HOLD_SECONDS)

        def send(i: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                entered.wait()
                answers[i] = client.post(
                    "/v1/memories",
                    json=bodies[i],
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "one-key"},
                )

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        entered.wait()
        _wait_for(lambda: len(llm.requests) >= 1)
        llm.release.set()
        for thread in threads:
            thread.join(timeout=90)
    return answers


def _wait_for(condition: Any) -> None:
    event = threading.Event()
    for _ in range(int(MAX_HOLD_SECONDS / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not met in time")


def test_overlapping_requests_with_one_key_run_once_and_all_get_the_same_answer(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("idem@example.com")
    answers = _overlapping(llm_srv, llm, key, [BODY] * 8)
    assert [a.status_code for a in answers] == [200] * 8
    bodies = [a.json()["memories"] for a in answers]
    assert all(b == bodies[0] for b in bodies) and len(bodies[0]) == 2
    assert len(llm.requests) == 1 and _count(llm_srv, key) == 2


def test_overlapping_requests_with_one_key_and_other_bodies_write_once(
    llm_srv: Server, llm: ChatCompletionsStandIn
) -> None:
    _, key = llm_srv.account("idem@example.com")
    bodies = [{**BODY, "scope": f"scope-{i}"} for i in range(6)]
    answers = _overlapping(llm_srv, llm, key, bodies)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 5
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"idempotency_conflict"}
    assert len(llm.requests) == 1 and _count(llm_srv, key) == 2
