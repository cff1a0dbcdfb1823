"""Sign-in secrets: codes stored as keyed hashes, the lock of an email surviving new codes, the server secret."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from server_support import Server, build
from test_transport import assert_error

from memorylayer.errors import InvalidRequest
from memorylayer.server import ServerSettings
from memorylayer.server.secret import SECRET_FILE, code_digest, load_secret
from support import delivered_code

EMAIL = "lock@example.com"


def _request(srv: Server, email: str = EMAIL) -> str:
    assert srv.call("POST", "/v1/auth/request-code", json={"email": email}).status_code == 200
    code = delivered_code(srv.state.settings.home, email)
    assert code is not None
    return code


def _verify(srv: Server, code: str, email: str = EMAIL) -> object:
    return srv.call("POST", "/v1/auth/verify-code", json={"email": email, "code": code})


def _wrong(code: str) -> str:
    return "100000" if code != "100000" else "100001"


def test_a_code_is_stored_as_a_keyed_hash_that_the_code_alone_does_not_give(srv: Server) -> None:
    code = _request(srv)
    stored = srv.state.store.latest_code(EMAIL, now=srv.clock())
    assert stored is not None
    assert stored.code_hash == code_digest(srv.state.secret, EMAIL, code)
    every_code_unkeyed = {hashlib.sha256(str(c).encode()).hexdigest() for c in range(100_000, 1_000_000)}
    assert stored.code_hash not in every_code_unkeyed
    assert code_digest(b"another secret of the right length!!", EMAIL, code) != stored.code_hash


def test_the_lock_belongs_to_the_email_and_a_new_code_does_not_lift_it(srv: Server) -> None:
    first = _request(srv)
    for _ in range(5):
        assert_error(_verify(srv, _wrong(first)), 401, "invalid_code")
    assert_error(_verify(srv, first), 429, "rate_limited")
    fresh = _request(srv)  # upstream's quirk: a new code used to come with a fresh count
    assert_error(_verify(srv, fresh), 429, "rate_limited")
    srv.clock.advance(1_801)
    assert_error(_verify(srv, fresh), 401, "invalid_code")  # expired meanwhile; the lock is over
    newest = _request(srv)
    assert _verify(srv, newest).status_code == 200  # type: ignore[attr-defined]


def test_a_right_code_clears_the_wrong_guesses_before_it(srv: Server) -> None:
    code = _request(srv)
    for _ in range(4):
        assert_error(_verify(srv, _wrong(code)), 401, "invalid_code")
    assert _verify(srv, code).status_code == 200  # type: ignore[attr-defined]
    assert srv.state.store.sign_in_failures(EMAIL) is None
    again = _request(srv)
    for _ in range(4):
        assert_error(_verify(srv, _wrong(again)), 401, "invalid_code")
    assert _verify(srv, again).status_code == 200  # type: ignore[attr-defined]


def test_wrong_guesses_long_ago_no_longer_count(srv: Server) -> None:
    code = _request(srv)
    for _ in range(4):
        assert_error(_verify(srv, _wrong(code)), 401, "invalid_code")
    srv.clock.advance(1_801)
    code = _request(srv)
    assert_error(_verify(srv, _wrong(code)), 401, "invalid_code")  # one in a new window, not the fifth
    assert _verify(srv, code).status_code == 200  # type: ignore[attr-defined]


def test_the_secret_file_is_made_once_0600_and_reused(home: Path) -> None:
    first = load_secret("", home)
    path = home / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 32
    assert load_secret("", home) == first
    path.chmod(0o644)
    assert load_secret("", home) == first and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_configured_secret_wins_and_a_short_one_is_refused(home: Path) -> None:
    assert load_secret("s" * 40, home) == b"s" * 40
    assert not (home / SECRET_FILE).exists()
    with pytest.raises(InvalidRequest, match="at least 32"):
        load_secret("short", home)


def test_replicas_with_one_secret_accept_each_others_codes(home: Path, tmp_path: Path) -> None:
    shared = ServerSettings.load(home, server_secret="r" * 48)
    one, two = build(home, shared), build(home, shared)
    with one.client, two.client:
        one.call("POST", "/v1/auth/request-code", json={"email": EMAIL})
        code = delivered_code(home, EMAIL)
        assert code is not None
        assert two.call("POST", "/v1/auth/verify-code", json={"email": EMAIL, "code": code}).status_code == 200
    one.state.engine.close()
    two.state.engine.close()


def test_a_containers_internal_address_can_never_sign_in(srv: Server, pro: str) -> None:
    created = srv.call("POST", "/v1/containers", pro, {"name": "c1"})
    address = srv.state.store.get_account(created.json()["container"]["id"]).email  # type: ignore[union-attr]
    asked = srv.call("POST", "/v1/auth/request-code", json={"email": address})
    refusal = "This address belongs to a container; containers sign in with keys minted by their parent account."
    assert_error(asked, 400, "invalid_request", refusal)
    assert delivered_code(srv.state.settings.home, address) is None
    assert_error(_verify(srv, "123456", address), 400, "invalid_request", refusal)
