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
from trading.backtest import Bars
from trading.bars_csv import load_bars_csv
from trading.candles_csv import parse_candles_csv
from trading.errors import InvalidInput
from trading.ohlcv_csv import NO_ZONE_HINT, BarsCsvError
from trading.timeframes import parse_timeframe

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
        (("when,open,high,low,close,volume", GOOD), "missing the time column"),
        ((HEADER,), "has a header but no bars"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,9,10"), "expected 6 fields, got 5"),
        ((HEADER, "yesterday,10,11,9,10,1"), "ts 'yesterday' is neither ISO-8601 nor epoch"),
        ((HEADER, "2020-01-01T00:00:00,10,11,9,10,1"), "has no zone; pass --tz UTC"),
        ((HEADER, "2020-01-01T00:00:00Z,10,abc,9,10,1"), "high 'abc' is not a number"),
        ((HEADER, "2020-01-01T00:00:00Z,10,NaN,9,10,1"), "high 'NaN' is not a finite number"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,9,-10,1"), "close -10 is not a positive price"),
        ((HEADER, "2020-01-01T00:00:00Z,10,11,10.5,10,1"), "open 10 is outside [low 10.5, high 11]"),
        (
            (HEADER, GOOD, "2020-01-01T00:00:00Z,10,11,9,10,1"),
            "line 3: timestamp 2020-01-01T00:00:00Z duplicates the one on line 2",
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
    with pytest.raises(InvalidInput, match="missing the time column"):
        parse_series_arg(f"X/USD={path}")


def test_infer_price_step_uses_finest_decimal(tmp_path: Path) -> None:
    candles = load_candles(write(tmp_path, HEADER, "2020-01-01T00:00:00Z,1.10,1.2,1.00001,1.1,1"))
    assert infer_price_step(candles) == Decimal("0.00001")


# A file as Yahoo Finance writes it: "Date" without a zone, "Adj Close" beside "Close".
YAHOO = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2024-01-02,10.5,11,10,10.75,9.1,1200\n"
    "2024-01-03,10.75,12,10.5,11.5,9.8,900\n"
    "2024-01-05,11.5,11.5,11,11.25,9.5,0\n"
)


def test_one_file_is_read_alike_by_the_backtest_the_paper_venue_and_the_import(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO.rstrip("\n"), name="yahoo.csv")
    venue = load_candles(path, tz="UTC")
    imported = parse_candles_csv(path.read_text(), parse_timeframe("1d"), name="yahoo.csv", tz="UTC")
    backtest = load_bars_csv(path, tz="UTC")
    assert venue == imported and [c.close for c in venue] == [
        Decimal("10.75"),
        Decimal("11.5"),
        Decimal("11.25"),
    ]
    assert venue[0].ts == datetime(2024, 1, 2, tzinfo=UTC)
    expected = Bars.from_candles(venue)
    for column in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(backtest, column).tolist() == getattr(expected, column).tolist()


def test_one_file_is_refused_alike_by_the_three_without_tz(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO.rstrip("\n"), name="yahoo.csv")
    errors = []
    for read in (
        lambda: load_candles(path),
        lambda: parse_candles_csv(path.read_text(), parse_timeframe("1d"), name=str(path)),
        lambda: load_bars_csv(path),
    ):
        with pytest.raises(BarsCsvError) as e:
            read()
        errors.append(str(e.value))
    assert errors[0] == errors[1] == errors[2]
    assert errors[0] == f"{path} line 2: ts '2024-01-02' has no zone; {NO_ZONE_HINT}"
