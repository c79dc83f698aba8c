"""Identifiers: deterministic, unique, venue-sized client order ids."""

import pytest

from trading.errors import InvalidInput
from trading.models import ClientOrderId, StrategyId


def test_derive_is_deterministic() -> None:
    assert ClientOrderId.derive("s1", 3, 1) == ClientOrderId.derive("s1", 3, 1)


def test_derive_is_readable_when_short() -> None:
    assert str(ClientOrderId.derive("s1", 3, 1)) == "s1-c3-l1"


def test_derive_differs_by_strategy_cycle_and_leg() -> None:
    ids = {
        ClientOrderId.derive(s, c, leg).value
        for s in ("a", "b", "a-c1")
        for c in (0, 1, 12)
        for leg in (0, 1, 2)
    }
    assert len(ids) == 27


def test_long_strategy_ids_are_hashed_to_36_chars_and_stay_unique() -> None:
    base = "x" * 40
    a = ClientOrderId.derive(base + "a", 123456, 7)
    b = ClientOrderId.derive(base + "b", 123456, 7)
    assert a != b
    assert len(a.value) <= 36 and len(b.value) <= 36
    assert a.value.endswith("-c123456-l7")


@pytest.mark.parametrize(("cycle", "leg"), [(-1, 0), (0, -1)])
def test_derive_refuses_negative_numbers(cycle: int, leg: int) -> None:
    with pytest.raises(InvalidInput):
        ClientOrderId.derive("s1", cycle, leg)


@pytest.mark.parametrize("bad", ["", "has space", "slash/no", "x" * 65])
def test_strategy_id_rejects_unsafe_values(bad: str) -> None:
    with pytest.raises(InvalidInput):
        StrategyId(bad)


def test_ids_just_over_36_chars_are_hashed() -> None:
    cid = ClientOrderId.derive("s" * 30, 10, 1)  # readable form would be 37 chars
    assert len(cid.value) <= 36 and cid.value.startswith("h")
    assert ClientOrderId.derive("s" * 29, 10, 1).value == "s" * 29 + "-c10-l1"
