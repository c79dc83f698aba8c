"""Order lifecycle: the transition table and the Order that follows it."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.errors import IllegalTransition, InvalidInput
from trading.models import OrderStatus, OrderType, Side, TimeInForce, VenueOrder
from trading.orders import TRANSITIONS, Order, check_transition

S = OrderStatus

LEGAL = [
    (S.NEW, S.OPEN),
    (S.NEW, S.PARTIALLY_FILLED),
    (S.NEW, S.FILLED),
    (S.NEW, S.REJECTED),
    (S.NEW, S.CANCELLED),
    (S.OPEN, S.PARTIALLY_FILLED),
    (S.OPEN, S.FILLED),
    (S.OPEN, S.CANCELLED),
    (S.OPEN, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELLED),
    (S.PARTIALLY_FILLED, S.EXPIRED),
    (S.NEW, S.TRIGGERED),
    (S.OPEN, S.TRIGGERED),
    (S.TRIGGERED, S.PARTIALLY_FILLED),
    (S.TRIGGERED, S.FILLED),
    (S.TRIGGERED, S.CANCELLED),
    (S.TRIGGERED, S.EXPIRED),
]

ILLEGAL = [
    (S.OPEN, S.NEW),
    (S.OPEN, S.REJECTED),
    (S.NEW, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.OPEN),
    (S.PARTIALLY_FILLED, S.NEW),
    (S.FILLED, S.OPEN),
    (S.FILLED, S.CANCELLED),
    (S.CANCELLED, S.FILLED),
    (S.REJECTED, S.OPEN),
    (S.EXPIRED, S.PARTIALLY_FILLED),
    (S.TRIGGERED, S.OPEN),
    (S.TRIGGERED, S.NEW),
    (S.FILLED, S.TRIGGERED),
    (S.PARTIALLY_FILLED, S.TRIGGERED),
]

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def make_order(**overrides: object) -> Order:
    fields: dict[str, object] = {
        "client_order_id": "s1-c0-l0",
        "strategy_id": "s1",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "qty": Decimal("2"),
        "price": Decimal("100"),
    }
    fields.update(overrides)
    return Order(**fields)  # type: ignore[arg-type]


def make_venue_order(**overrides: object) -> VenueOrder:
    fields: dict[str, object] = {
        "client_order_id": "s1-c0-l0",
        "venue_order_id": "v-42",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "qty": Decimal("2"),
        "price": Decimal("100"),
        "status": S.PARTIALLY_FILLED,
        "filled_qty": Decimal("0.5"),
        "avg_price": Decimal("99.5"),
        "fee": Decimal("0.05"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return VenueOrder(**fields)  # type: ignore[arg-type]


def test_table_is_exactly_the_legal_moves() -> None:
    assert set(LEGAL) == TRANSITIONS


@pytest.mark.parametrize(("frm", "to"), LEGAL)
def test_every_legal_move_passes(frm: OrderStatus, to: OrderStatus) -> None:
    check_transition(frm, to)


@pytest.mark.parametrize(("frm", "to"), ILLEGAL)
def test_illegal_moves_raise_naming_both_states(frm: OrderStatus, to: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as exc:
        check_transition(frm, to)
    assert frm.name in str(exc.value) and to.name in str(exc.value)


@pytest.mark.parametrize("state", list(OrderStatus))
def test_staying_put_is_a_no_op(state: OrderStatus) -> None:
    check_transition(state, state)


@pytest.mark.parametrize("terminal", [s for s in OrderStatus if s.is_terminal])
def test_terminal_states_have_no_exit(terminal: OrderStatus) -> None:
    assert not any(frm == terminal for frm, _ in TRANSITIONS)
    for to in OrderStatus:
        if to != terminal:
            with pytest.raises(IllegalTransition):
                check_transition(terminal, to)


def test_every_non_terminal_state_can_end() -> None:
    for state in OrderStatus:
        if not state.is_terminal and state is not S.NEW:
            assert any(frm == state and to.is_terminal for frm, to in TRANSITIONS)


def test_transition_updates_status_and_reason() -> None:
    order = make_order()
    order.transition(S.OPEN)
    order.transition(S.CANCELLED, reason="user cancelled")
    assert (order.status, order.reason) == (S.CANCELLED, "user cancelled")
    with pytest.raises(IllegalTransition):
        order.transition(S.OPEN)
    assert order.status is S.CANCELLED


def test_apply_venue_copies_fill_figures() -> None:
    order = make_order()
    order.apply_venue(make_venue_order())
    assert order.status is S.PARTIALLY_FILLED
    assert (order.filled_qty, order.avg_price, order.fee) == (
        Decimal("0.5"),
        Decimal("99.5"),
        Decimal("0.05"),
    )
    assert order.venue_order_id == "v-42"
    assert order.remaining_qty == Decimal("1.5")


def test_apply_venue_rejection_keeps_reason() -> None:
    order = make_order()
    venue = make_venue_order(status=S.REJECTED, filled_qty=Decimal(0), avg_price=None, reason="min notional")
    order.apply_venue(venue)
    assert (order.status, order.reason) == (S.REJECTED, "min notional")


def test_apply_venue_illegal_move_leaves_order_untouched() -> None:
    order = make_order(status=S.FILLED, filled_qty=Decimal("2"), avg_price=Decimal("100"))
    with pytest.raises(IllegalTransition):
        order.apply_venue(make_venue_order(status=S.OPEN))
    assert (order.status, order.filled_qty, order.avg_price) == (S.FILLED, Decimal("2"), Decimal("100"))


def test_apply_venue_refuses_another_orders_report() -> None:
    with pytest.raises(InvalidInput):
        make_order().apply_venue(make_venue_order(client_order_id="other-c0-l0"))


def test_notional_prefers_average_fill_price() -> None:
    assert make_order().notional == Decimal("200")
    assert make_order(avg_price=Decimal("101")).notional == Decimal("202")
    assert make_order(type=OrderType.MARKET, price=None).notional is None


def test_remaining_qty_never_negative() -> None:
    assert make_order(filled_qty=Decimal("3")).remaining_qty == Decimal(0)


def test_order_validates_quantity_and_limit_price() -> None:
    with pytest.raises(InvalidInput):
        make_order(qty=Decimal(0))
    with pytest.raises(InvalidInput):
        make_order(price=None)


def test_to_request_carries_the_order() -> None:
    req = make_order().to_request()
    assert (req.client_order_id, req.side, req.qty, req.price) == (
        "s1-c0-l0",
        Side.BUY,
        Decimal("2"),
        Decimal("100"),
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": OrderType.STOP, "price": None}, "needs a positive stop price"),
        ({"type": OrderType.STOP, "price": Decimal(1), "stop_price": Decimal(1)}, "takes no limit price"),
        ({"type": OrderType.STOP_LIMIT, "stop_price": Decimal(0)}, "needs a positive stop price"),
        ({"type": OrderType.LIMIT, "stop_price": Decimal(99)}, "takes no stop price"),
        ({"type": OrderType.TRAILING_STOP, "price": None}, "exactly one of"),
        (
            {
                "type": OrderType.TRAILING_STOP,
                "price": None,
                "trail_amount": Decimal(1),
                "trail_fraction": Decimal("0.1"),
            },
            "exactly one of",
        ),
        ({"type": OrderType.TRAILING_STOP, "price": None, "trail_fraction": Decimal(1)}, "in (0, 1)"),
        ({"type": OrderType.TRAILING_STOP, "price": None, "trail_amount": Decimal(-1)}, "must be positive"),
        ({"trail_amount": Decimal(1)}, "takes no trail"),
        (
            {"type": OrderType.STOP, "price": None, "stop_price": Decimal(9), "tif": TimeInForce.IOC},
            "applies to",
        ),
    ],
)
def test_each_order_type_takes_exactly_its_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        make_order(**fields)


def test_to_request_carries_trigger_fields() -> None:
    order = make_order(
        type=OrderType.TRAILING_STOP,
        price=None,
        trail_fraction=Decimal("0.02"),
        reduce_only=True,
        side=Side.SELL,
    )
    req = order.to_request()
    assert (req.type, req.trail_fraction, req.reduce_only, req.tif) == (
        OrderType.TRAILING_STOP,
        Decimal("0.02"),
        True,
        TimeInForce.GTC,
    )
    assert OrderType.STOP_LIMIT.has_trigger and OrderType.STOP_LIMIT.has_limit
    assert not OrderType.MARKET.has_trigger and not OrderType.STOP.has_limit
