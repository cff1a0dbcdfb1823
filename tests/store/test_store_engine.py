"""The real engine (and model) on the backend under test: a few paths end to end."""

from __future__ import annotations

from store_support import DatabaseUnderTest

from memorylayer.engine import Engine


def test_the_engine_upserts_searches_and_deletes_on_the_backend(database: DatabaseUnderTest) -> None:
    with Engine.open(database=database.url) as engine:
        engine.add("people", "Ada drinks green tea every morning", key="ada-drink")
        engine.add("people", "Ada drinks black coffee every morning", key="ada-drink")
        engine.add("people", "Grace sails on Lake Geneva at weekends", extract=False)
        assert [e.value for e in engine.history(scope="people", key="ada-drink")] == [
            "Ada drinks green tea every morning"
        ]
        hits = engine.search("what does Ada drink?", scope="people", top_k=2)
        assert hits[0].memory.key == "ada-drink" and "coffee" in hits[0].memory.value
        assert engine.search("Geneva", scope="people", top_k=1)[0].memory.value.startswith("Grace")
        assert engine.remove("people", "ada-drink")
        assert engine.count("people") == 1


def test_a_second_engine_on_the_same_database_sees_the_first_ones_writes(database: DatabaseUnderTest) -> None:
    with Engine.open(database=database.url) as writer, Engine.open(database=database.url) as reader:
        assert reader.search("sailing", scope="people", top_k=1) == []
        writer.add("people", "Grace sails on Lake Geneva at weekends", extract=False)
        assert reader.search("who goes sailing?", scope="people", top_k=1)[0].memory.value.startswith("Grace")
