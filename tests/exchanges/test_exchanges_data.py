"""CSV loading, the bundled series registry and user series."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from exchanges.data import (
    BUNDLED,
    DATA_DIR,
    bundled_series,
    infer_price_step,
    load_candles,
    parse_series_arg,
    resolve_series,
)
from trading.errors import InvalidInput

HEADER = "ts,open,high,low,close,volume"
GOOD = "2020-01-01T00:00:00Z,10,11,9,10.5,100"


def write(tmp_path: Path, *lines: str, name: str = "s.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def test_loads_valid_file_as_utc_decimals(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD, "2020-01-02T01:00:00+01:00,10.5,12,10,11.25,0")
    candles = load_candles(path)
    assert [c.ts for c in candles] == [datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC)]
    assert candles[1].close == Decimal("11.25") and isinstance(candles[1].close, Decimal)
    assert candles[0].ts.tzinfo is UTC


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "is empty"),
        (("date,open,high,low,close,volume", GOOD), "expected 'ts,open,high,low,close,volume'"),
        ((HEADER,), "has a header but no bars"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,9,10"), "expected 6 fields, got 5"),
        ((HEADER, "yesterday,10,11,9,10,1"), "'yesterday' is not an ISO-8601 timestamp"),
        ((HEADER, "2020-01-01T00:00:00,10,11,9,10,1"), "has no zone"),
        ((HEADER, "2020-01-01T00:00:00Z,10,abc,9,10,1"), "high 'abc' is not a number"),
        ((HEADER, "2020-01-01T00:00:00Z,10,NaN,9,10,1"), "high 'NaN' is not a finite number"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,9,-10,1"), "prices must be positive"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,10.5,10,1"), "low 10.5 and high 11 do not enclose"),
        (
            (HEADER, GOOD, "2020-01-01T00:00:00Z,10,11,9,10,1"),
            "line 3: timestamp 2020-01-01T00:00:00Z is not after",
        ),
        ((HEADER, GOOD, "2019-12-31T00:00:00Z,10,11,9,10,1"), "strictly increasing"),
    ],
)
def test_bad_files_raise_invalid_input(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    with pytest.raises(InvalidInput) as err:
        load_candles(path)
    assert message in str(err.value)


def test_missing_file_raises_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_candles(tmp_path / "nope.csv")


def test_edited_file_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, GOOD)
    assert len(load_candles(path)) == 1
    write(tmp_path, HEADER, GOOD, "2020-01-02T00:00:00Z,10,11,9,10,1, ")
    with pytest.raises(InvalidInput, match="expected 6 fields"):
        load_candles(path)


EXPECTED_ROWS = {"MSFT/USD": 3000, "GOOGL/USD": 2335, "EUR/USD": 3000, "SPX/USD": 3000}


@pytest.mark.parametrize("symbol", sorted(EXPECTED_ROWS))
def test_bundled_series_load_and_are_monotonic(symbol: str) -> None:
    spec = BUNDLED[symbol]
    assert spec.path.parent == DATA_DIR
    candles = spec.candles()
    assert len(candles) == EXPECTED_ROWS[symbol]
    assert all(a.ts < b.ts for a, b in itertools.pairwise(candles))
    assert all(c.low <= min(c.open, c.close) and c.high >= max(c.open, c.close) for c in candles)
    # every bar price is a valid limit price at this market
    assert all(c.close % spec.price_step == 0 for c in candles)


def test_bundled_markets_carry_their_size_rules() -> None:
    series = bundled_series()
    assert set(series) == set(EXPECTED_ROWS)
    eur = series["EUR/USD"].market()
    assert (eur.base, eur.quote, eur.min_qty, eur.qty_step, eur.price_step) == (
        "EUR",
        "USD",
        Decimal(1000),
        Decimal(1),
        Decimal("0.00001"),
    )
    msft = series["MSFT/USD"].market()
    assert (msft.min_qty, msft.qty_step, msft.price_step) == (Decimal(1), Decimal(1), Decimal("0.01"))
    assert series["SPX/USD"].market().min_qty == Decimal(1)
    series.clear()
    assert bundled_series()  # callers get a copy


def test_user_series_from_symbol_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "2020-01-01T00:00:00Z,0.0101,0.0102,0.01,0.0100,5")
    spec = parse_series_arg(f"btc/usdt={path}")
    assert (spec.symbol, spec.base, spec.quote, spec.path) == ("BTC/USDT", "BTC", "USDT", path)
    assert spec.price_step == Decimal("0.0001")
    merged = resolve_series([f"MSFT/USD={path}"])
    assert merged["MSFT/USD"].path == path and "EUR/USD" in merged


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("BTCUSD", "must be given as SYMBOL=path"),
        ("BTC/USD=", "must be given as SYMBOL=path"),
        ("BTC-USD=x.csv", "not of the form BASE/QUOTE"),
    ],
)
def test_bad_user_series_argument(arg: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_series_arg(arg)


def test_user_series_file_is_validated_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b", "1,2")
    with pytest.raises(InvalidInput, match="has header"):
        parse_series_arg(f"X/USD={path}")


def test_infer_price_step_uses_finest_decimal(tmp_path: Path) -> None:
    candles = load_candles(write(tmp_path, HEADER, "2020-01-01T00:00:00Z,1.10,1.2,1.00001,1.1,1"))
    assert infer_price_step(candles) == Decimal("0.00001")
