"""``prove`` and ``audit`` with Z3: rules for every instance, bound facts, tracked so an unsat core names them.

Every rule instance and every fact is asserted behind its own label (``rule:<id>@<instance>``,
``fact:<memory id>``) and checked with those labels as assumptions, so an unsatisfiable set answers
with the labels in conflict; Z3's core minimisation makes that core exact for the planted conflicts
of docs/reasoning.md. Each check has the caller's time limit; past it the answer is ``unknown``.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import NotConfigured, NotFound, Unsatisfiable
from ...types import MemoryRecord
from .domain import Attribute, Domain, bad, parse_domain, parse_expression

if TYPE_CHECKING:
    from ..core import Engine

#: Operation names, the hook point for per-key metering (one call = one use).
DOMAIN_OPERATION = "domain"
PROVE_OPERATION = "prove"
AUDIT_OPERATION = "audit"
#: The domain lives in its namespace as this keyed memory (so export, sync and packages carry it).
DOMAIN_KEY = "domain:schema"
#: Conflicts one audit reports at most (each found one is set aside and the rest checked again).
MAX_CONFLICTS = 20
GENERIC_INSTANCE = "*"


def _z3() -> Any:
    try:
        import z3
    except ImportError as exc:  # pragma: no cover - z3-solver comes with the [reasoning] extra
        raise NotConfigured("prove and audit need Z3: pip install 'memorylayer-agents[reasoning]'") from exc
    return z3


@dataclass(frozen=True)
class Fact:
    """A stored memory bound to ``entity.instance.attribute`` with its typed value."""

    memory_id: str
    key: str | None
    entity: str
    instance: str
    attribute: str
    value: Any
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory_id": self.memory_id,
            "key": self.key,
            "binds": f"{self.entity}.{self.instance}.{self.attribute}",
            "value": self.value,
            "text": self.text,
        }


@dataclass
class ProofResult:
    """``status``: proved, refuted (``counterexample`` satisfies every rule and fact yet breaks the
    statement) or unknown (``reason``). ``facts`` and ``rules`` are those the proof used (its unsat core)."""

    status: str
    statement: str
    instance: str | None
    facts: list[Fact] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    reason: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "statement": self.statement,
            "instance": self.instance,
            "facts": [f.to_dict() for f in self.facts],
            "rules": self.rules,
            "counterexample": self.counterexample,
            "reason": self.reason,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class Conflict:
    """One unsat core: these facts and rules cannot all hold. With one rule, the facts violate it."""

    facts: list[Fact]
    rules: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "violation" if len(self.rules) == 1 else "contradiction",
            "facts": [f.to_dict() for f in self.facts],
            "rules": self.rules,
        }


@dataclass
class AuditResult:
    """``consistent`` when no conflict was found within the time limit (``complete`` says whether it ran out)."""

    consistent: bool
    complete: bool
    conflicts: list[Conflict]
    facts_checked: int
    rules_checked: int
    unbound: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "complete": self.complete,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "facts_checked": self.facts_checked,
            "rules_checked": self.rules_checked,
            "unbound": self.unbound,
            "seconds": round(self.seconds, 4),
        }


# -- the domain, stored in its namespace -------------------------------------------------------------
def set_domain(engine: Engine, scope: str, data: Any) -> Domain:
    """Check ``data``, refuse rules that no instance can satisfy, and store it as the scope's domain."""
    import json

    domain = parse_domain(data)
    model = _Model(domain, _z3())
    labels = {model.rule_label(rule.id, GENERIC_INSTANCE): rule.id for rule in domain.rules}
    for rule in domain.rules:
        model.track(model.rule_label(rule.id, GENERIC_INSTANCE), model.rule(rule, GENERIC_INSTANCE))
    status, core = model.check(list(labels), 10_000)
    if status == "unsat":
        names = sorted(labels[c] for c in core)
        raise Unsatisfiable(
            f"the rules {', '.join(names)} contradict each other: no {domain.rules[0].entity} can satisfy them",
            details=[{"path": ["rules"], "message": "unsatisfiable together", "rules": names}],
        )
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    engine.add(scope, text, key=DOMAIN_KEY, metadata={"domain": True})
    return domain


def load_domain(engine: Engine, scope: str) -> Domain:
    import json

    record = engine.get_key(scope, DOMAIN_KEY)
    if record is None:
        raise NotFound(f"namespace {scope} has no domain; declare one with `memorylayer domain set`")
    return parse_domain(json.loads(record.value))


# -- facts -----------------------------------------------------------------------------------------
def _typed(attribute: Attribute, raw: str) -> Any:
    text = raw.strip()
    lowered = text.lower()
    if attribute.type == "bool":
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if attribute.type == "int":
        return int(text.replace("_", "").replace(",", ""))
    if attribute.type == "real":
        return float(text.replace("_", "").replace(",", ""))
    # enum: the member itself, or the one member a sentence names (slot facts: "User is vegan.")
    if text in attribute.members:
        return text
    named = [m for m in attribute.members if m.lower() in lowered.replace(".", " ").split()]
    if len(named) == 1:
        return named[0]
    raise ValueError(f"expected one of {', '.join(attribute.members)}")


def bound_facts(engine: Engine, scope: str, domain: Domain) -> tuple[list[Fact], list[dict[str, Any]]]:
    """The scope's memories bound to the domain, and those that look bound but whose value does not parse."""
    by_key = {b.key: b for b in domain.bindings if b.key}
    by_slot = {b.slot: b for b in domain.bindings if b.slot}
    facts: list[Fact] = []
    unbound: list[dict[str, Any]] = []
    for record in engine.iter_all(scope=scope):
        target = _target(record, domain, by_key, by_slot)
        if target is None:
            continue
        entity, instance, attribute = target
        try:
            value = _typed(domain.entities[entity][attribute], record.value)
        except ValueError as exc:
            unbound.append({"memory_id": record.id, "key": record.key, "value": record.value, "reason": str(exc)})
            continue
        facts.append(Fact(record.id, record.key, entity, instance, attribute, value, record.value))
    return facts, unbound


def _target(record: MemoryRecord, domain: Domain, by_key: dict[Any, Any], by_slot: dict[Any, Any]) -> Any:
    if record.key is not None:
        if record.key in by_key:
            b = by_key[record.key]
            return b.entity, b.instance, b.attribute
        parts = record.key.split(".")
        if len(parts) == 3 and parts[0] in domain.entities and parts[2] in domain.entities[parts[0]]:
            return parts[0], parts[1], parts[2]
        return None
    slot = record.metadata.get("slot")
    if slot in by_slot:
        b = by_slot[slot]
        return b.entity, b.instance, b.attribute
    return None


# -- the Z3 model ----------------------------------------------------------------------------------
class _Model:
    def __init__(self, domain: Domain, z3: Any) -> None:
        self.domain, self.z3 = domain, z3
        # A context of its own: Z3's default one is shared by every thread and keeps every name declared.
        self.ctx = z3.Context()
        self.solver = z3.Solver(ctx=self.ctx)
        self.solver.set("core.minimize", True)
        self.labels: dict[str, Any] = {}
        self.vars: dict[tuple[str, str, str], Any] = {}
        self.sorts: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}

    def var(self, entity: str, instance: str, name: str) -> Any:
        slot = (entity, instance, name)
        if slot not in self.vars:
            attribute = self.domain.entities[entity][name]
            z3, label = self.z3, f"{entity}.{instance}.{name}"
            if attribute.type == "int":
                self.vars[slot] = z3.Int(label, self.ctx)
            elif attribute.type == "real":
                self.vars[slot] = z3.Real(label, self.ctx)
            elif attribute.type == "bool":
                self.vars[slot] = z3.Bool(label, self.ctx)
            else:
                sort, members = self.enum(entity, name)
                self.vars[slot] = z3.Const(label, sort)
        return self.vars[slot]

    def enum(self, entity: str, name: str) -> tuple[Any, dict[str, Any]]:
        if (entity, name) not in self.sorts:
            attribute = self.domain.entities[entity][name]
            sort, values = self.z3.EnumSort(f"{entity}.{name}", list(attribute.members), ctx=self.ctx)
            self.sorts[(entity, name)] = (sort, dict(zip(attribute.members, values, strict=True)))
        return self.sorts[(entity, name)]

    def rule_label(self, rule_id: str, instance: str) -> str:
        return f"rule:{rule_id}@{instance}"

    def track(self, label: str, expression: Any) -> None:
        flag = self.z3.Bool(label, self.ctx)
        self.labels[label] = flag
        self.solver.add(self.z3.Implies(flag, expression))

    def rule(self, rule: Any, instance: str) -> Any:
        return self.translate(rule.tree, rule.entity, instance)

    def fact(self, fact: Fact) -> Any:
        var = self.var(fact.entity, fact.instance, fact.attribute)
        attribute = self.domain.entities[fact.entity][fact.attribute]
        if attribute.type == "enum":
            return var == self.enum(fact.entity, fact.attribute)[1][fact.value]
        if attribute.type == "real":
            return var == self.z3.RealVal(str(fact.value), self.ctx)
        return var == fact.value

    def check(self, labels: list[str], timeout_ms: int, extra: Any = None) -> tuple[str, list[str]]:
        self.solver.set("timeout", int(timeout_ms))
        assumptions = [self.labels[label] for label in labels]
        if extra is not None:
            self.solver.push()
            self.solver.add(extra)
        try:
            result = self.solver.check(*assumptions)
            if result == self.z3.unsat:
                return "unsat", [str(c) for c in self.solver.unsat_core()]
            if result == self.z3.sat:
                self.last_model = self.solver.model()
                return "sat", []
            return "unknown", [self.solver.reason_unknown()]
        finally:
            if extra is not None:
                self.solver.pop()

    def translate(self, node: ast.expr, entity: str, instance: str) -> Any:
        z3: Any = self.z3

        def t(child: ast.expr) -> Any:
            return self.translate(child, entity, instance)

        if isinstance(node, ast.Name):
            if node.id in ("true", "false"):
                return z3.BoolVal(node.id == "true", self.ctx)
            return self.var(entity, instance, node.id)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return z3.BoolVal(node.value, self.ctx)
            if isinstance(node.value, int):
                return z3.IntVal(node.value, self.ctx)
            if isinstance(node.value, float):
                return z3.RealVal(str(node.value), self.ctx)
            raise bad("expression", f"the string {node.value!r} must be compared with an enum attribute")
        if isinstance(node, ast.BoolOp):
            parts = [self._boolean(t(v)) for v in node.values]
            return z3.And(*parts) if isinstance(node.op, ast.And) else z3.Or(*parts)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return z3.Not(self._boolean(t(node.operand)))
            operand = self._number(t(node.operand))
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left, right = self._number(t(node.left)), self._number(t(node.right))
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return z3.ToReal(left) / z3.ToReal(right) if z3.is_int(left) and z3.is_int(right) else left / right
        if isinstance(node, ast.Compare):
            terms, left = [], node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                terms.append(self._compare(op, left, right, entity, instance))
                left = right
            return terms[0] if len(terms) == 1 else z3.And(*terms)
        if isinstance(node, ast.Call):
            fn = node.func.id  # type: ignore[attr-defined]
            args = [t(a) for a in node.args]
            if fn == "implies":
                return z3.Implies(self._boolean(args[0]), self._boolean(args[1]))
            if fn == "iff":
                return self._boolean(args[0]) == self._boolean(args[1])
            if fn == "abs":
                x = self._number(args[0])
                return z3.If(x >= 0, x, -x)
            a, b = self._number(args[0]), self._number(args[1])
            return z3.If(a <= b, a, b) if fn == "min" else z3.If(a >= b, a, b)
        raise bad("expression", f"{type(node).__name__} is not allowed")  # pragma: no cover - parse rejects it

    def _compare(self, op: ast.cmpop, left: ast.expr, right: ast.expr, entity: str, instance: str) -> Any:
        # A quoted member compares with an enum attribute: env == 'prod'.
        for a, b in ((left, right), (right, left)):
            if isinstance(b, ast.Constant) and isinstance(b.value, str):
                if not (
                    isinstance(a, ast.Name) and self.domain.entities[entity].get(a.id, Attribute("", "")).type == "enum"
                ):
                    raise bad("expression", f"the string {b.value!r} must be compared with an enum attribute")
                _, members = self.enum(entity, a.id)
                if b.value not in members:
                    raise bad("expression", f"{b.value!r} is not one of {a.id}'s members: {', '.join(members)}")
                if not isinstance(op, (ast.Eq, ast.NotEq)):
                    raise bad("expression", "enum attributes compare only with == and !=")
                var = self.var(entity, instance, a.id)
                return var == members[b.value] if isinstance(op, ast.Eq) else var != members[b.value]
        lhs = self.translate(left, entity, instance)
        rhs = self.translate(right, entity, instance)
        if isinstance(op, (ast.Eq, ast.NotEq)):
            if self.z3.is_bool(lhs) != self.z3.is_bool(rhs):
                raise bad("expression", "== compares a yes/no value with a number")
            return lhs == rhs if isinstance(op, ast.Eq) else lhs != rhs
        lhs, rhs = self._number(lhs), self._number(rhs)
        return {ast.Lt: lhs < rhs, ast.LtE: lhs <= rhs, ast.Gt: lhs > rhs, ast.GtE: lhs >= rhs}[type(op)]

    def _boolean(self, value: Any) -> Any:
        if not self.z3.is_bool(value):
            raise bad("expression", f"{value} is a number where a yes/no value is expected")
        return value

    def _number(self, value: Any) -> Any:
        if not (self.z3.is_int(value) or self.z3.is_real(value)):
            raise bad("expression", f"{value} is not a number")
        return value

    def value_of(self, var: Any) -> Any:
        value = self.last_model.eval(var, model_completion=True)
        z3 = self.z3
        if z3.is_true(value) or z3.is_false(value):
            return z3.is_true(value)
        if z3.is_int_value(value):
            return value.as_long()
        if z3.is_rational_value(value):
            return float(value.numerator_as_long()) / float(value.denominator_as_long())
        return str(value)


def _setup(domain: Domain, facts: list[Fact], instances: list[tuple[str, str]]) -> tuple[_Model, dict[str, Any]]:
    model = _Model(domain, _z3())
    meaning: dict[str, Any] = {}
    for entity, instance in instances:
        for rule in domain.rules:
            if rule.entity == entity:
                label = model.rule_label(rule.id, instance)
                model.track(label, model.rule(rule, instance))
                meaning[label] = f"{rule.id}@{instance}"
    for fact in facts:
        label = f"fact:{fact.memory_id}"
        model.track(label, model.fact(fact))
        meaning[label] = fact
    return model, meaning


def _split(core: list[str], meaning: dict[str, Any]) -> tuple[list[Fact], list[str]]:
    facts = [meaning[c] for c in core if isinstance(meaning.get(c), Fact)]
    rules = sorted(meaning[c] for c in core if isinstance(meaning.get(c), str))
    return sorted(facts, key=lambda f: (f.entity, f.instance, f.attribute)), rules


def prove(engine: Engine, scope: str, statement: Any, timeout_ms: int) -> ProofResult:
    """Proved when the rules and facts of the statement's instance entail it; refuted with a model otherwise."""
    started = time.perf_counter()
    domain = load_domain(engine, scope)
    if not isinstance(statement, dict) or set(statement) - {"entity", "instance", "assert"}:
        raise bad("statement", "expected {entity, instance?, assert}")
    entity = statement.get("entity")
    if entity not in domain.entities:
        raise bad("statement.entity", f"unknown entity {entity!r}; known: {', '.join(sorted(domain.entities))}")
    instance = statement.get("instance")
    if instance is not None and (not isinstance(instance, str) or not instance):
        raise bad("statement.instance", "expected an instance name")
    text = statement.get("assert")
    tree = parse_expression(text, "statement.assert", domain.entities[entity])
    facts, _ = bound_facts(engine, scope, domain)
    own = instance or GENERIC_INSTANCE
    facts = [f for f in facts if f.entity == entity and f.instance == own]
    model, meaning = _setup(domain, facts, [(entity, own)])
    goal = model.translate(tree, entity, own)
    if not model.z3.is_bool(goal):
        raise bad("statement.assert", "expected a yes/no statement, not a number")
    labels = list(model.labels)
    status, core = model.check(labels, timeout_ms)
    if status == "unsat":
        conflict_facts, conflict_rules = _split(core, meaning)
        raise Unsatisfiable(
            f"the facts and rules of {entity} {own} already contradict each other; run audit to see them",
            details=[{"path": ["statement"], "rules": conflict_rules, "facts": [f.memory_id for f in conflict_facts]}],
        )
    result = ProofResult("unknown", str(text), instance)
    if status == "unknown":
        result.reason = f"the premises could not be checked within {timeout_ms} ms ({core[0] if core else ''})"
    else:
        status, core = model.check(labels, timeout_ms, extra=model.z3.Not(goal))
        if status == "unsat":
            result.status = "proved"
            result.facts, result.rules = _split(core, meaning)
        elif status == "sat":
            result.status = "refuted"
            result.counterexample = {
                name: model.value_of(model.var(entity, own, name)) for name in sorted(domain.entities[entity])
            }
            result.facts = sorted(facts, key=lambda f: f.attribute)
            result.rules = sorted(meaning[label] for label in labels if isinstance(meaning[label], str))
        else:
            result.reason = f"no answer within {timeout_ms} ms ({core[0] if core else ''})"
    result.seconds = time.perf_counter() - started
    return result


def audit(engine: Engine, scope: str, timeout_ms: int) -> AuditResult:
    """Find up to :data:`MAX_CONFLICTS` unsat cores among every instance's rules and the bound facts."""
    started = time.perf_counter()
    domain = load_domain(engine, scope)
    facts, unbound = bound_facts(engine, scope, domain)
    instances = sorted({(f.entity, f.instance) for f in facts})
    model, meaning = _setup(domain, facts, instances)
    active = list(model.labels)
    conflicts: list[Conflict] = []
    complete = True
    deadline = time.perf_counter() + timeout_ms / 1000
    while len(conflicts) < MAX_CONFLICTS:
        left_ms = int((deadline - time.perf_counter()) * 1000)
        if left_ms <= 0:
            complete = False
            break
        status, core = model.check(active, left_ms)
        if status == "sat":
            break
        if status == "unknown":
            complete = False
            break
        conflict_facts, conflict_rules = _split(core, meaning)
        conflicts.append(Conflict(conflict_facts, conflict_rules))
        # Set the conflict's facts aside (or its rules, when no fact takes part) and look for the next one.
        drop = {c for c in core if c.startswith("fact:")} or set(core)
        active = [label for label in active if label not in drop]
    else:
        complete = False
    return AuditResult(
        consistent=not conflicts and complete,
        complete=complete,
        conflicts=conflicts,
        facts_checked=len(facts),
        rules_checked=sum(1 for label in meaning if label.startswith("rule:")),
        unbound=unbound,
        seconds=time.perf_counter() - started,
    )
