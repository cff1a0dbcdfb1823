"""The code and reasoning tools through the SDK's in-memory client against the real server and engine."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from memorylayer.mcp_server import LocalAccess, build_server

pytestmark = pytest.mark.anyio

DEPLOY = {
    "entities": {"service": {"attributes": {"env": {"enum": ["prod", "staging"]}, "replicas": "int"}}},
    "rules": [{"id": "prod-needs-two", "entity": "service", "assert": "implies(env == 'prod', replicas >= 2)"}],
}


@pytest.fixture
def server(engine: Any) -> Any:
    return build_server(LocalAccess(engine))


async def test_an_agent_ingests_files_and_locates_a_symbol(server: Any, call: Any) -> None:
    files = [{"path": "billing/refunds.py", "text": 'def refund(order):\n    """Money back for an order."""\n'}]
    async with Client(server) as client:
        summary = await call(client, "code_ingest", files=files, namespace="repo")
        assert (summary["added"], summary["symbols"]) == (1, 1)
        found = await call(client, "code_locate", query="money back for an order", namespace="repo")
    assert found[0]["location"] == "billing/refunds.py:1-2" and found[0]["symbol"] == "refund"


async def test_an_agent_declares_rules_audits_facts_and_proves(server: Any, call: Any, call_error: Any) -> None:
    async with Client(server) as client:
        await call(client, "domain_set", domain=DEPLOY, namespace="ops")
        for key, value in (("service.api.env", "prod"), ("service.api.replicas", "1")):
            await call(client, "memory_store", content=value, namespace="ops", key=key)
        report = await call(client, "audit", namespace="ops")
        assert report["conflicts"][0]["rules"] == ["prod-needs-two@api"]
        proof = await call(client, "prove", namespace="ops", statement={"entity": "service", "assert": "replicas >= 0"})
        assert proof["status"] == "refuted" and proof["counterexample"]["replicas"] < 0
        error = await call_error(client, "prove", namespace="nowhere", statement={"entity": "x", "assert": "y"})
    assert "not_found" in error
