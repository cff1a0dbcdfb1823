"""The engine refuses names with control characters, NUL anywhere and JSON nested too deep; nothing is written."""

from __future__ import annotations

import io
import json

import pytest

from memorylayer.engine import Engine
from memorylayer.errors import InvalidRequest
from memorylayer.limits import JSON_MAX_DEPTH


@pytest.mark.parametrize("bad", ["k\x00", "k\n", "\tk", "k\x1b", "k\x7f", "k\x9f"])
def test_control_characters_are_refused_in_scopes_keys_and_ids(engine: Engine, bad: str) -> None:
    for call in (
        lambda: engine.add(bad, "v", key="k"),
        lambda: engine.add("s", "v", key=bad),
        lambda: engine.get_key("s", bad),
        lambda: engine.get(bad),
        lambda: engine.for_account(bad),
    ):
        with pytest.raises(InvalidRequest, match="control characters"):
            call()
    assert engine.count() == 0


def test_values_keep_newlines_and_tabs_but_never_nul(engine: Engine) -> None:
    kept = engine.add("s", "line one\n\tline two", extract=False).memories[0]
    assert engine.get(kept.id).value == "line one\n\tline two"
    for call in (
        lambda: engine.add("s", "a\x00b", extract=False),
        lambda: engine.recall("s", "query\x00"),
        lambda: engine.add("s", "v", key="k", metadata={"a": "b\x00"}),
        lambda: engine.add("s", "v", key="k", metadata={"a\x00": 1}),
        lambda: engine.add("s", "v", key="k", metadata={"list": [["\x00"]]}),
    ):
        with pytest.raises(InvalidRequest, match="NUL"):
            call()
    assert engine.count() == 1


def test_metadata_nested_deeper_than_the_limit_is_refused(engine: Engine) -> None:
    def nested(depth: int) -> dict:
        value: dict = {}
        for _ in range(depth - 1):
            value = {"x": value}
        return value

    engine.add("s", "v", key="ok", metadata=nested(JSON_MAX_DEPTH))
    with pytest.raises(InvalidRequest, match="nest deeper"):
        engine.add("s", "v", key="deep", metadata=nested(JSON_MAX_DEPTH + 1))
    with pytest.raises(InvalidRequest, match="nest deeper"):
        engine.add("s", "v", key="deeper", metadata=nested(5_000))
    assert engine.count() == 1


def test_an_import_line_nested_too_deep_names_its_line_and_writes_nothing(engine: Engine) -> None:
    lines = json.dumps({"scope": "s", "value": "fine"}) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(InvalidRequest, match="line 2"):
        engine.import_jsonl(io.StringIO(lines))
    assert engine.count() == 0


def test_an_import_file_with_a_utf8_byte_order_mark_imports(engine: Engine) -> None:
    line = "\ufeff" + json.dumps({"scope": "s", "value": "with a BOM"}) + "\n"
    assert engine.import_jsonl(io.StringIO(line)) == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_an_import_file_in_utf16_or_utf32_says_so_and_writes_nothing(engine: Engine, encoding: str) -> None:
    raw = (json.dumps({"scope": "s", "value": "wide"}) + "\n").encode(encoding)
    if not raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raw = "\ufeff".encode(encoding) + raw
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
    with pytest.raises(InvalidRequest, match="UTF-16 or UTF-32"):
        engine.import_jsonl(stream)
    assert engine.count() == 0
