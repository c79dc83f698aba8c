"""The chaos checks' comparisons: what counts as books and venue disagreeing, and for how long."""

from __future__ import annotations

from decimal import Decimal

from bench.invariants import Books, OrderState, Settling, VenueView, order_differences, position_differences


def view(orders: dict[str, OrderState], balances: dict[str, Decimal] | None = None) -> VenueView:
    return VenueView(orders=orders, duplicates=[], balances=balances or {})


def test_every_way_books_and_venue_can_disagree_about_an_order_is_named() -> None:
    filled = OrderState(Decimal(5), open=False)
    books = Books(
        orders={"same": filled, "partly": OrderState(Decimal(2), True), "phantom": filled}, positions={}
    )
    venue = view({"same": filled, "partly": filled, "unbooked": filled})
    found = order_differences(books, venue)
    assert set(found) == {"partly", "phantom", "unbooked"}
    assert found["partly"] == "booked filled 2 open=True, venue filled 5 open=False"
    assert found["phantom"] == "booked as placed but unknown to the venue"
    assert found["unbooked"] == "at the venue (filled 5) but not booked as placed"


def test_positions_are_compared_with_the_venues_change_of_balance_since_the_start() -> None:
    books = Books(orders={}, positions={"MSFT": Decimal(7), "SPX": Decimal(0)})
    venue = view({}, {"MSFT": Decimal(107), "SPX": Decimal(3), "USD": Decimal(1)})
    start = {"MSFT": Decimal(100)}
    assert position_differences(books, venue, start, ["MSFT", "SPX", "GOOGL"]) == {"SPX": "books 0, venue 3"}


def test_an_order_in_flight_disagrees_for_a_moment_and_only_a_lasting_difference_counts() -> None:
    s = Settling(settle_s=10)
    assert s.update({"a": "x", "b": "y"}, now=0) == {}
    assert s.update({"a": "x"}, now=5) == {}  # b settled
    assert s.update({"a": "x", "b": "y"}, now=11) == {"a": "x"}  # b is new again: its clock restarted
    assert s.update({}, now=30) == {}
