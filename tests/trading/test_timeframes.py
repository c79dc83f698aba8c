"""Timeframes: parsing, alignment, closed bars and gaps; CSV candles of one timeframe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.bars_csv import BarsCsvError
from trading.candles_csv import parse_candles_csv
from trading.errors import InvalidInput
from trading.timeframes import CandleGap, find_gaps, parse_timeframe


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("1m", timedelta(minutes=1)),
        ("5m", timedelta(minutes=5)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("4h", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (" 30s ", timedelta(seconds=30)),
    ],
)
def test_parse_known_timeframes(text: str, interval: timedelta) -> None:
    tf = parse_timeframe(text)
    assert tf.interval == interval and tf.text == text.strip() and str(tf) == text.strip()


@pytest.mark.parametrize("text", ["", "1", "h", "0m", "1.5h", "1y", "-1d", "1 h", "99999m"])
def test_refuse_other_timeframes(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a number of s, m, h, d or w"):
        parse_timeframe(text)


def test_months_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput, match="calendar months have no fixed length"):
        parse_timeframe("1M")


def test_alignment() -> None:
    four = parse_timeframe("4h")
    assert four.align(utc(2024, 3, 1, 9, 59)) == utc(2024, 3, 1, 8)
    assert four.is_aligned(utc(2024, 3, 1, 8)) and not four.is_aligned(utc(2024, 3, 1, 9))
    # Weekly bars open on Mondays (2024-03-04 is one), not on the epoch's Thursday.
    week = parse_timeframe("1w")
    assert week.align(utc(2024, 3, 7, 15)) == utc(2024, 3, 4)
    assert week.is_aligned(utc(2024, 3, 4)) and not week.is_aligned(utc(2024, 3, 7))
    day = parse_timeframe("1d")
    assert day.align(datetime(2024, 3, 1, 23, 30, tzinfo=UTC)) == utc(2024, 3, 1)
    with pytest.raises(InvalidInput, match="has no zone"):
        day.align(datetime(2024, 3, 1))


def test_a_bar_is_closed_once_its_interval_has_passed() -> None:
    hour = parse_timeframe("1h")
    assert hour.closed(utc(2024, 3, 1, 10), utc(2024, 3, 1, 11))
    assert not hour.closed(utc(2024, 3, 1, 10), utc(2024, 3, 1, 10, 59, 59))


def test_gaps_in_a_continuous_series() -> None:
    hour = parse_timeframe("1h")
    ts = [utc(2024, 3, 2, h) for h in (0, 1, 2, 5, 6, 9)]  # a Saturday: weekend bars, so continuous
    assert find_gaps(ts, hour) == [
        CandleGap(utc(2024, 3, 2, 2), utc(2024, 3, 2, 5), 2),
        CandleGap(utc(2024, 3, 2, 6), utc(2024, 3, 2, 9), 2),
    ]
    assert find_gaps(ts[:1], hour) == [] and find_gaps([], hour) == []


def test_weekends_are_not_gaps_in_a_weekday_series_but_holidays_are() -> None:
    day = parse_timeframe("1d")
    # Thu 29 Feb, Fri 1 Mar, Mon 4 Mar, (Tue 5 Mar a holiday), Wed 6 Mar.
    ts = [utc(2024, 2, 29), utc(2024, 3, 1), utc(2024, 3, 4), utc(2024, 3, 6)]
    assert find_gaps(ts, day) == [CandleGap(utc(2024, 3, 4), utc(2024, 3, 6), 1)]
    # Counted on the calendar, the weekend is two missing bars too.
    assert [g.missing for g in find_gaps(ts, day, "continuous")] == [2, 1]
    # Weekly bars are always counted on the calendar.
    week = parse_timeframe("1w")
    assert find_gaps([utc(2024, 3, 4), utc(2024, 3, 18)], week) == [
        CandleGap(utc(2024, 3, 4), utc(2024, 3, 18), 1)
    ]


def test_hourly_weekday_series_count_only_the_hours_missing_on_weekdays() -> None:
    hour = parse_timeframe("1h")
    ts = [utc(2024, 3, 1, 21), utc(2024, 3, 4, 0), utc(2024, 3, 4, 1)]  # Fri 21:00, then Monday
    assert find_gaps(ts, hour) == [CandleGap(utc(2024, 3, 1, 21), utc(2024, 3, 4, 0), 2)]


CSV = (
    "ts,open,high,low,close,volume\n"
    "2024-03-01T00:00:00Z,1.10,1.2,1.05,1.15,100\n"
    "2024-03-02T00:00:00Z,1.15,1.3,1.1,1.25,0\n"
)


def test_csv_candles_are_exact_decimals() -> None:
    bars = parse_candles_csv(CSV, parse_timeframe("1d"), name="x.csv")
    assert [b.ts for b in bars] == [utc(2024, 3, 1), utc(2024, 3, 2)]
    assert bars[0].open == Decimal("1.10") and str(bars[0].open) == "1.10"
    assert bars[1].volume == Decimal(0)


def test_csv_columns_in_any_order_and_epoch_times() -> None:
    text = "Close,ts,volume,open,low,high\n1.15,1709251200,100,1.10,1.05,1.2\n"
    (bar,) = parse_candles_csv(text, parse_timeframe("1d"))
    assert (bar.ts, bar.close, bar.high) == (utc(2024, 3, 1), Decimal("1.15"), Decimal("1.2"))


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("ts,open,high,low\n", 1, "missing column(s) close, volume"),
        (CSV + "2024-03-03T00:00:00Z,1,0.5,1,1,1\n", 4, "high 0.5 is below low 1"),
        (CSV + "2024-03-03T00:00:00Z,1,2,0.5,1,abc\n", 4, "volume 'abc' is not a number"),
        (CSV + "2024-03-02T00:00:00Z,1,2,0.5,1,1\n", 4, "duplicates the one on line 3"),
        (CSV + "2024-03-03T12:00:00Z,1,2,0.5,1,1\n", 4, "is not the open of a 1d bar"),
        (CSV + "2024-03-03T00:00:00Z,1e21,1e21,1,1,1\n", 4, "more than 20 integer digits"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(BarsCsvError) as e:
        parse_candles_csv(text, parse_timeframe("1d"), name="prices.csv")
    assert e.value.line == line and reason in str(e.value)
    assert str(e.value).startswith(f"prices.csv line {line}: ")


def test_a_header_only_text_is_not_read_as_a_file_name() -> None:
    with pytest.raises(BarsCsvError, match="has a header but no bars"):
        parse_candles_csv("ts,open,high,low,close,volume", parse_timeframe("1d"))
