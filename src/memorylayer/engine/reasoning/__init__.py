"""Formal reasoning over a namespace: a typed domain of entities and rules, ``prove`` and ``audit`` with Z3."""

from .domain import Domain, parse_domain
from .solver import (
    AUDIT_OPERATION,
    DOMAIN_OPERATION,
    PROVE_OPERATION,
    AuditResult,
    Conflict,
    Fact,
    ProofResult,
    audit,
    load_domain,
    prove,
    set_domain,
)

__all__ = [
    "AUDIT_OPERATION",
    "DOMAIN_OPERATION",
    "PROVE_OPERATION",
    "AuditResult",
    "Conflict",
    "Domain",
    "Fact",
    "ProofResult",
    "audit",
    "load_domain",
    "parse_domain",
    "prove",
    "set_domain",
]
