"""The SDK's code and reasoning calls against the real server, Client and AsyncClient alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memorylayer.client import _code
from memorylayer.errors import NotFound, PlanRequired, Unsatisfiable

Make = Callable[..., Any]


def test_code_ingest_reads_the_folder_here_and_locate_finds_the_symbol(sdk: Make, tmp_path: Path) -> None:
    client = sdk()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "tax.py").write_text('def vat_rate(country):\n    """VAT for a country."""\n', encoding="utf-8")
    (tmp_path / ".gitignore").write_text("build.py\n", encoding="utf-8")
    (tmp_path / "build.py").write_text("def ignored():\n    pass\n", encoding="utf-8")
    summary = client.code_ingest("repo", tmp_path).summary
    assert (summary["files"], summary["added"], summary["symbols"]) == (1, 1, 1)
    best = client.code_locate("repo", "value added tax of a country", top_k=2).locations[0]
    assert (best["location"], best["symbol"]) == ("pkg/tax.py:1-2", "vat_rate")


def test_a_tree_larger_than_one_request_is_sent_in_parts_and_pruned_once(
    sdk: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_code, "INGEST_PART_BYTES", 200)  # three files, three requests
    client = sdk()
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.py").write_text(f"def {name}():\n    return '{name * 60}'\n", encoding="utf-8")
    assert client.code_ingest("repo", tmp_path).summary["added"] == 3
    (tmp_path / "a.py").unlink()
    summary = client.code_ingest("repo", tmp_path).summary
    assert (summary["unchanged"], summary["removed"]) == (2, 1)  # b and c, sent in other parts, are kept


def test_domain_prove_and_audit_through_the_sdk(sdk: Make) -> None:
    client = sdk(plan="team")  # advanced operations: Pro+
    domain = {
        "entities": {"user": {"attributes": {"role": {"enum": ["admin", "guest"]}, "can_delete": "bool"}}},
        "rules": [{"id": "only-admins-delete", "entity": "user", "assert": "implies(can_delete, role == 'admin')"}],
    }
    assert client.set_domain("acl", domain).domain == domain
    assert client.get_domain("acl").domain == domain
    client.add("acl", "guest", key="user.bo.role")
    client.add("acl", "yes", key="user.bo.can_delete")
    conflicts = client.audit("acl").audit["conflicts"]
    assert conflicts[0]["rules"] == ["only-admins-delete@bo"]
    proof = client.prove("acl", {"entity": "user", "assert": "implies(role == 'guest', not can_delete)"}).proof
    assert proof["status"] == "proved"
    with pytest.raises(NotFound):
        client.get_domain("elsewhere")
    never = {**domain, "rules": [{"id": "a", "entity": "user", "assert": "can_delete and not can_delete"}]}
    with pytest.raises(Unsatisfiable):
        client.set_domain("acl", never)


def test_reasoning_on_a_plan_without_advanced_operations_raises_plan_required(sdk: Make) -> None:
    with pytest.raises(PlanRequired) as caught:
        sdk(plan="pro").audit("acl")
    assert caught.value.details["required_tiers"] == ["team", "enterprise"]
