"""The domain format: a typed vocabulary and rules, as JSON (docs/reasoning.md)::

    {"entities": {"service": {"attributes": {"env": {"enum": ["prod", "staging"]},
                                             "replicas": "int", "approved": "bool", "cost": "real"}}},
     "rules": [{"id": "prod-needs-two", "entity": "service",
                "assert": "implies(env == 'prod', replicas >= 2)"}],
     "bindings": [{"key": "web_replicas", "entity": "service", "instance": "web", "attribute": "replicas"},
                  {"slot": "diet", "entity": "user", "instance": "me", "attribute": "diet"}]}

A rule holds for every instance of its entity. Expressions are a small, safe subset of Python syntax
(parsed with :mod:`ast`, never evaluated): attribute names, numbers, ``true``/``false``, quoted enum
members, ``+ - * /``, comparisons (chains too), ``and or not``, ``implies(a, b)``, ``iff(a, b)``,
``min(a, b)``, ``max(a, b)``, ``abs(a)``. Keyed facts bind by the key ``<entity>.<instance>.<attribute>``
or by an explicit binding; a slot fact binds to an enum attribute by the member its text names.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ... import limits
from ...errors import InvalidRequest

TYPES = ("int", "real", "bool")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
FUNCTIONS = {"implies": 2, "iff": 2, "min": 2, "max": 2, "abs": 1}


def bad(field_: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field_}: {message}", details=[{"path": [field_], "message": message}])


@dataclass(frozen=True)
class Attribute:
    """``type`` is int, real, bool or enum (then ``members`` lists the allowed values)."""

    name: str
    type: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    entity: str
    expression: str
    tree: ast.expr
    description: str = ""


@dataclass(frozen=True)
class Binding:
    entity: str
    instance: str
    attribute: str
    key: str | None = None
    slot: str | None = None


@dataclass
class Domain:
    """A parsed, checked domain; ``source`` is the JSON it came from (what ``domain get`` returns)."""

    entities: dict[str, dict[str, Attribute]]
    rules: list[Rule]
    bindings: list[Binding]
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.source


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise bad(where, "expected a name of letters, digits, _ or - (1-64, starting with a letter or _)")
    return value


def _attribute(name: str, spec: Any, where: str) -> Attribute:
    if isinstance(spec, str):
        if spec not in TYPES:
            raise bad(where, f'unknown type {spec!r}: expected one of {", ".join(TYPES)} or {{"enum": [...]}}')
        return Attribute(name, spec)
    if isinstance(spec, dict) and set(spec) == {"enum"}:
        members = spec["enum"]
        if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
            raise bad(where + ".enum", "expected a non-empty list of strings")
        if len(set(members)) != len(members):
            raise bad(where + ".enum", "members repeat")
        return Attribute(name, "enum", tuple(members))
    raise bad(where, 'expected "int", "real", "bool" or {"enum": [...]}')


def parse_expression(text: Any, where: str, attributes: dict[str, Attribute]) -> ast.expr:
    """The syntax tree of ``text``, checked to use only the allowed forms and ``attributes``."""
    if not isinstance(text, str) or not text.strip() or len(text) > limits.EXPRESSION.max:
        raise bad(where, f"expected an expression of 1-{limits.EXPRESSION.max} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise bad(where, f"not an expression: {exc.msg} at column {exc.offset}") from None
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and id(node) not in called
            and node.id not in attributes
            and node.id not in ("true", "false")
        ):
            raise bad(where, f"unknown attribute {node.id!r}; known: {', '.join(sorted(attributes))}")
        if isinstance(node, ast.Call):
            fn = node.func.id if isinstance(node.func, ast.Name) else None
            if fn not in FUNCTIONS or node.keywords or len(node.args) != FUNCTIONS[fn]:
                raise bad(
                    where, f"unknown call; the functions are {', '.join(f'{f}/{n}' for f, n in FUNCTIONS.items())}"
                )
        allowed = (
            ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add, ast.Sub,
            ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Name,
            ast.Load, ast.Constant, ast.Call,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise bad(where, f"{type(node).__name__} is not allowed in an expression")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str)):
            raise bad(where, f"constant {node.value!r} is not allowed")
    return tree


def parse_domain(data: Any) -> Domain:
    """Check and parse a domain document.

    Raises:
        InvalidRequest: the first problem, with the field that has it.
    """
    if not isinstance(data, dict):
        raise bad("domain", "expected an object with entities, rules and bindings")
    unknown = set(data) - {"entities", "rules", "bindings", "description"}
    if unknown:
        raise bad("domain", f"unknown fields: {', '.join(sorted(unknown))}")
    entities = _entities(data.get("entities"))
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > limits.DOMAIN_RULES.max:
        raise bad("rules", f"expected a list of at most {limits.DOMAIN_RULES.max} rules")
    rules: list[Rule] = []
    for i, rule in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(rule, dict) or set(rule) - {"id", "entity", "assert", "description"}:
            raise bad(where, "expected {id, entity, assert, description?}")
        rule_id = _name(rule.get("id"), where + ".id")
        if any(r.id == rule_id for r in rules):
            raise bad(where + ".id", f"rule {rule_id!r} is declared twice")
        entity = rule.get("entity")
        if entity not in entities:
            raise bad(where + ".entity", f"unknown entity {entity!r}")
        text = rule.get("assert")
        tree = parse_expression(text, where + ".assert", entities[entity])
        rules.append(Rule(rule_id, entity, str(text), tree, str(rule.get("description", ""))))
    bindings = _bindings(data.get("bindings", []), entities)
    return Domain(entities, rules, bindings, data)


def _entities(raw_entities: Any) -> dict[str, dict[str, Attribute]]:
    if not isinstance(raw_entities, dict) or not raw_entities:
        raise bad("entities", "expected an object naming at least one entity")
    entities: dict[str, dict[str, Attribute]] = {}
    for entity, spec in raw_entities.items():
        where = f"entities.{entity}"
        _name(entity, where)
        attrs = spec.get("attributes") if isinstance(spec, dict) else None
        if (
            not isinstance(attrs, dict)
            or not limits.DOMAIN_ATTRIBUTES.min <= len(attrs) <= limits.DOMAIN_ATTRIBUTES.max
        ):
            raise bad(where + ".attributes", f"expected an object of 1-{limits.DOMAIN_ATTRIBUTES.max} attributes")
        entities[entity] = {
            _name(a, f"{where}.attributes.{a}"): _attribute(a, t, f"{where}.attributes.{a}") for a, t in attrs.items()
        }
    return entities


def _bindings(raw_bindings: Any, entities: dict[str, dict[str, Attribute]]) -> list[Binding]:
    if not isinstance(raw_bindings, list):
        raise bad("bindings", "expected a list")
    bindings: list[Binding] = []
    for i, item in enumerate(raw_bindings):
        where = f"bindings[{i}]"
        if not isinstance(item, dict) or set(item) - {"key", "slot", "entity", "instance", "attribute"}:
            raise bad(where, "expected {key or slot, entity, instance, attribute}")
        if ("key" in item) == ("slot" in item):
            raise bad(where, "give exactly one of key and slot")
        entity, attribute = item.get("entity"), item.get("attribute")
        if entity not in entities or attribute not in entities[entity]:
            raise bad(where, f"unknown attribute {entity}.{attribute}")
        if "slot" in item and entities[entity][attribute].type != "enum":
            raise bad(where, "a slot binds only to an enum attribute (its text names the member)")
        source = item.get("key", item.get("slot"))
        if not isinstance(source, str) or not source:
            raise bad(where, "key and slot are non-empty strings")
        bindings.append(
            Binding(
                entity, _name(item.get("instance"), where + ".instance"), attribute, item.get("key"), item.get("slot")
            )
        )
    return bindings
