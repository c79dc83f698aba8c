"""Money stays exact and times stay UTC, in Python and through both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import repo
from store.types import Money, UTCDateTime, canonical_decimal, to_money
from tests.store.factories import T0, fill_fields

PG = postgresql.dialect()
LITE = sqlite.dialect()

EXACT = [
    Decimal("0.000000000000000001"),
    Decimal("12345678901234567890.123456789012345678"),
    Decimal("-12345678901234567890.123456789012345678"),
    Decimal("99999999999999999999.999999999999999999"),
    Decimal("-0.5"),
    Decimal("42000.1"),
    Decimal("100"),
    Decimal("0"),
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1.500", "1.5"),
        ("1E+2", "100"),
        ("100.000", "100"),
        ("-0.00", "0"),
        ("0E-18", "0"),
        ("12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"),
    ],
)
def test_canonical_decimal_strips_zeros_without_exponent_or_rounding(given: str, expected: str) -> None:
    result = canonical_decimal(Decimal(given))
    assert result == Decimal(expected)
    assert str(result) == expected


def test_to_money_rounds_half_even_beyond_18_places() -> None:
    assert to_money(Decimal("0.0000000000000000015")) == Decimal("0.000000000000000002")
    assert to_money(Decimal("0.0000000000000000025")) == Decimal("0.000000000000000002")
    assert to_money(Decimal("-1.0000000000000000005")) == Decimal("-1")


@pytest.mark.parametrize(
    "bad", [Decimal("1E+20"), Decimal("-123456789012345678901"), Decimal("NaN"), Decimal("Inf")]
)
def test_to_money_refuses_what_numeric_38_18_cannot_hold(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        to_money(bad)


@pytest.mark.parametrize("bad", [0.1, "1.5", True])
def test_to_money_refuses_floats_strings_and_bools(bad: object) -> None:
    with pytest.raises(TypeError):
        to_money(bad)


def test_money_binds_numeric_on_postgresql_and_plain_text_on_sqlite() -> None:
    money = Money()
    assert money.process_bind_param(Decimal("1.50"), PG) == Decimal("1.5")
    assert money.process_bind_param(Decimal("1E-18"), LITE) == "0.000000000000000001"
    assert money.process_bind_param(Decimal("1E+3"), LITE) == "1000"
    assert money.process_bind_param(None, LITE) is None


def test_utc_datetime_refuses_naive_and_converts_to_utc() -> None:
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2024, 1, 1, 12), PG)
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2024, 1, 1, 12), LITE)
    plus2 = datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert column.process_bind_param(plus2, LITE) == datetime(2024, 1, 1, 12)
    bound_pg = column.process_bind_param(plus2, PG)
    assert bound_pg == plus2 and bound_pg is not None and bound_pg.tzinfo == UTC
    assert column.process_result_value(datetime(2024, 1, 1, 12), LITE) == datetime(2024, 1, 1, 12, tzinfo=UTC)


async def test_money_round_trips_exactly(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as s:
        for n, value in enumerate(EXACT):
            await repo.upsert_position(
                s,
                strategy_id="s1",
                symbol=f"SYM{n}",
                qty=value,
                avg_price=value.copy_negate(),  # unary minus would round to 28 digits
                realised_pnl=value,
                fees=Decimal("1.50") if n == 0 else value,
                now=T0,
            )
    async with sessions() as s:
        rows = {row.symbol: row for row in await repo.get_positions(s, strategy_id="s1")}
    for n, value in enumerate(EXACT):
        row = rows[f"SYM{n}"]
        assert (row.qty, row.avg_price, row.realised_pnl) == (value, value.copy_negate(), value)
        assert isinstance(row.qty, Decimal)
        assert row.qty.as_tuple() == canonical_decimal(value).as_tuple()
    assert str(rows["SYM0"].fees) == "1.5"
    assert str(rows["SYM6"].qty) == "100"


async def test_sqlite_stores_money_as_text(sessions: async_sessionmaker[AsyncSession], db_url: str) -> None:
    async with sessions.begin() as s:
        assert await repo.record_fill(s, **fill_fields(qty=Decimal("0.000000000000000001")))
    async with sessions() as s:
        stored = (await s.execute(text("SELECT qty FROM fills"))).scalar_one()
    if db_url.startswith("sqlite"):
        assert stored == "0.000000000000000001"
    else:
        assert stored == Decimal("0.000000000000000001")


async def test_money_over_18_places_is_rounded_the_same_on_both(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as s:
        await repo.record_fill(s, **fill_fields(qty=Decimal("0.0000000000000000025"), price=Decimal(1) / 3))
    async with sessions() as s:
        (fill,) = await repo.list_fills(s)
    assert fill.qty == Decimal("0.000000000000000002")
    assert fill.price == Decimal("0.333333333333333333")


async def test_float_money_is_refused_by_the_database_layer(session: AsyncSession) -> None:
    with pytest.raises(StatementError) as info:
        await repo.record_fill(session, **fill_fields(qty=0.1))
    assert isinstance(info.value.orig, TypeError)


async def test_utc_times_round_trip_timezone_aware(sessions: async_sessionmaker[AsyncSession]) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=india)
    async with sessions.begin() as s:
        await repo.record_fill(s, **fill_fields(ts=local))
    async with sessions() as s:
        (fill,) = await repo.list_fills(s)
    assert fill.ts == local
    assert fill.ts.tzinfo == UTC
    assert (fill.ts.hour, fill.ts.minute, fill.ts.microsecond) == (18, 29, 999999)


async def test_naive_time_is_refused_by_the_database_layer(session: AsyncSession) -> None:
    with pytest.raises(StatementError) as info:
        await repo.record_fill(session, **fill_fields(ts=datetime(2024, 1, 1)))
    assert isinstance(info.value.orig, ValueError)
