"""The package's public names are exactly these, sorted, and all importable."""

import memorylayer


def test_public_api_is_sorted_and_complete() -> None:
    assert memorylayer.__all__ == sorted(memorylayer.__all__)
    assert set(memorylayer.__all__) == {"AsyncClient", "Client", "Engine", "MemoryLayerError", "Settings", "memory"}
    for name in memorylayer.__all__:
        assert getattr(memorylayer, name) is not None
