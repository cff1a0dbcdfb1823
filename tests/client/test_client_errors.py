"""Every error code of the spec, provoked for real on the server app, arrives as its own class."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_failing_server import FailingServer
from sdk_helpers import CACHE_MAX_ENTRIES, RealServer, in_process

from memorylayer.config import Settings
from memorylayer.errors import (
    AlreadyClaimed,
    CacheEntryLimit,
    CacheExpired,
    ContainerLimitExceeded,
    ContainerNameExists,
    ExtractionFailed,
    InsufficientScope,
    InvalidCode,
    InvalidRequest,
    KeyExpired,
    MemoryLayerError,
    NotConfigured,
    NotFound,
    PlanRequired,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
    error_classes,
)
from memorylayer.server.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the stand-in servers
from standins.openai_chat import ChatCompletionsStandIn
from support import delivered_code

Make = Callable[..., Any]


def test_unknown_key_is_unauthorized_with_status_and_request_id(sdk: Make) -> None:
    client = sdk(api_key="wm_live_not-a-real-key")

    with pytest.raises(Unauthorized) as caught:
        client.whoami()

    error = caught.value
    assert type(error) is Unauthorized
    assert (error.status, error.code, error.message) == (401, "unauthorized", "Invalid API key")
    assert error.request_id


def test_missing_key_fails_before_sending_anything(kind: str, failing: FailingServer) -> None:
    client = in_process(kind, failing.app())

    with pytest.raises(Unauthorized, match="MEMORYLAYER_API_KEY"):
        client.health()

    assert failing.seen == []


def test_expired_key_raises_key_expired(sdk: Make, real_server: RealServer) -> None:
    owner = sdk("pro")
    container = owner.containers.create("expiring").container
    key = owner.containers.create_key(container.id, "short-lived", expires_in=60)
    real_server.clock.advance(61)

    with pytest.raises(KeyExpired) as caught:
        sdk(api_key=key.raw_key).whoami()

    assert caught.value.status == 401 and caught.value.code == "key_expired"


def test_wrong_sign_in_code_raises_invalid_code(sdk: Make, real_server: RealServer) -> None:
    anonymous = sdk(api_key=None)
    email = f"wrong-code-{uuid.uuid4().hex[:8]}@example.com"
    anonymous.request_code(email)
    sent = delivered_code(real_server.home, email)
    assert sent is not None
    wrong = "100000" if sent != "100000" else "100001"

    with pytest.raises(InvalidCode) as caught:
        anonymous.verify_code(email, wrong)

    assert caught.value.status == 401 and caught.value.code == "invalid_code"


def test_read_only_key_writing_raises_insufficient_scope(sdk: Make) -> None:
    owner = sdk("pro")
    container = owner.containers.create("read-only").container
    key = owner.containers.create_key(container.id, "reader", scopes="memory:read")

    with pytest.raises(InsufficientScope) as caught:
        sdk(api_key=key.raw_key).add("user-1", "x", key="k")

    assert caught.value.status == 403
    assert caught.value.details["required"] == ["memory:write"]


def test_free_plan_creating_a_container_raises_plan_required(sdk: Make) -> None:
    with pytest.raises(PlanRequired) as caught:
        sdk("free").containers.create("not-allowed")

    assert caught.value.details["current_tier"] == "free"


def test_adding_past_the_memory_limit_raises_quota_exceeded(sdk: Make) -> None:
    client = sdk("tiny")
    client.add("user-1", "first", key="a")

    with pytest.raises(QuotaExceeded) as caught:
        client.add("user-1", "second", key="b")

    assert caught.value.details["limit"] == 1


def test_past_the_container_limit_raises_container_limit_exceeded(sdk: Make) -> None:
    client = sdk("tiny")
    client.containers.create("only-one")

    with pytest.raises(ContainerLimitExceeded):
        client.containers.create("one-too-many")


def test_duplicate_container_name_raises_container_name_exists_at_once(sdk: Make) -> None:
    client = sdk("pro")
    first = client.containers.create("twin").container

    with pytest.raises(ContainerNameExists) as caught:
        client.containers.create("twin")

    assert caught.value.status == 409
    assert caught.value.details["existing_container_id"] == first.id


def test_full_cache_raises_cache_entry_limit(sdk: Make) -> None:
    cache = sdk(api_key=None).cache.create()
    for i in range(CACHE_MAX_ENTRIES):
        cache.set(f"k{i}", "v")

    with pytest.raises(CacheEntryLimit):
        cache.set("one-more", "v")
    assert cache.set("k0", "updated").entry.value == "updated"


def test_second_claim_raises_already_claimed(sdk: Make) -> None:
    owner = sdk("free")
    cache = sdk(api_key=None).cache.create()
    owner.cache.claim(cache.claim_token)

    with pytest.raises(AlreadyClaimed) as caught:
        owner.cache.claim(cache.claim_token)

    assert "cannot be re-issued" in caught.value.message


def test_claiming_an_expired_cache_raises_cache_expired(sdk: Make, real_server: RealServer) -> None:
    cache = sdk(api_key=None).cache.create(ttl_seconds=60)
    real_server.clock.advance(61)

    with pytest.raises(CacheExpired) as caught:
        sdk("free").cache.claim(cache.claim_token)

    assert caught.value.status == 410


def test_monthly_call_limit_raises_rate_limited_without_waiting(sdk: Make) -> None:
    client = sdk("metered")
    for _ in range(3):
        client.health()

    with pytest.raises(RateLimited) as caught:
        client.health()

    assert caught.value.status == 429
    assert caught.value.retry_after > 60  # the window resets in days: raised, not slept on


def test_too_many_code_requests_raise_rate_limited(sdk: Make) -> None:
    anonymous = sdk(api_key=None)
    email = f"busy-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(3):
        anonymous.request_code(email)

    with pytest.raises(RateLimited, match="Too many code requests"):
        anonymous.request_code(email)


def test_a_body_the_server_refuses_raises_invalid_request_with_its_details(sdk: Make) -> None:
    client = sdk()

    # Out-of-range values are refused before sending (test_client_checks.py); this rule is the server's.
    with pytest.raises(InvalidRequest) as importance_without_key:
        client.add("user-1", "free text", importance=0.5)

    assert importance_without_key.value.status == 400
    assert isinstance(importance_without_key.value.details, list)
    assert importance_without_key.value.details[0]["path"] == ["importance"]


def test_unknown_container_raises_not_found(sdk: Make) -> None:
    with pytest.raises(NotFound) as caught:
        sdk("pro").containers.get(str(uuid.uuid4()))

    assert caught.value.status == 404


def test_payments_on_a_self_hosted_server_raise_not_configured(sdk: Make) -> None:
    client = sdk("pro")

    with pytest.raises(NotConfigured) as caught:
        client.checkout("pro")
    with pytest.raises(NotConfigured):
        client.billing_portal()

    assert caught.value.status == 501


@pytest.fixture(scope="module")
def failing_llm() -> Iterator[ChatCompletionsStandIn]:
    with ChatCompletionsStandIn(api_key="sk-sdk", model="sdk-model") as llm:
        llm.reply_raw(500, '{"error": {"message": "model overloaded"}}')
        yield llm


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory: pytest.TempPathFactory, failing_llm: ChatCompletionsStandIn) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("llm-home")
    settings = Settings.load(home=home, llm_base_url=failing_llm.base_url, llm_api_key="sk-sdk", llm_model="sdk-model")
    app = create_app(settings)
    yield app
    app.state.server.engine.close()


def test_failing_extraction_model_raises_extraction_failed(kind: str, llm_app: Any) -> None:
    from memorylayer.server import admin

    srv = llm_app.state.server
    account = admin.create_account(srv.store, srv.server, f"llm-{kind}@example.com", plan="free")
    _, raw = admin.create_key(srv.store, account.id)
    client = in_process(kind, llm_app, api_key=raw, max_retries=0)

    with pytest.raises(ExtractionFailed) as caught:
        client.add("user-1", "I am a vegetarian and I live in Lisbon.")

    assert caught.value.status == 500 and caught.value.code == "extraction_failed"


def test_code_without_a_class_keeps_its_code_on_the_base_error(flaky: Any, failing: FailingServer) -> None:
    failing.fail(1, 409, code="subscription_exists")

    with pytest.raises(MemoryLayerError) as caught:
        flaky.health()

    assert type(caught.value) is MemoryLayerError
    assert (caught.value.code, caught.value.status) == ("subscription_exists", 409)
    assert len(failing.attempts("/v1/health")) == 1


@pytest.mark.parametrize(
    "code",
    [
        "unauthorized", "key_expired", "invalid_code", "invalid_request", "not_found", "quota_exceeded",
        "plan_required", "container_limit_exceeded", "container_name_exists", "insufficient_scope",
        "extraction_failed", "rate_limited", "cache_entry_limit", "cache_expired", "already_claimed",
        "network_error", "timeout", "not_configured",
    ],
)  # fmt: skip
def test_every_spec_code_has_a_class_under_the_error_base(code: str) -> None:
    cls = error_classes()[code]

    assert issubclass(cls, MemoryLayerError) and cls.code == code
