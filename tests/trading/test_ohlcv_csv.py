"""The one OHLCV CSV reader: header aliases, times and zones, refusals naming their line."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.errors import InvalidInput
from trading.ohlcv_csv import TIME_COLUMNS, BarsCsvError, parse_ohlcv, parse_tz

# 2024-01-02T00:00:00Z in epoch seconds and nanoseconds.
JAN2_S = 1_704_153_600
JAN2 = JAN2_S * 10**9
HOUR = 3600 * 10**9
ROW = "10,11,9,10.5,100"


def table(header: str, *rows: str, tz: str | None = None) -> list[int]:
    """The UTC epoch-nanosecond times of a CSV with this header and these rows."""
    return parse_ohlcv("\n".join([header, *rows]) + "\n", tz=tz).ts


def refusal(text: str, tz: str | None = None) -> BarsCsvError:
    with pytest.raises(BarsCsvError) as e:
        parse_ohlcv(text, name="x.csv", tz=tz)
    return e.value


@pytest.mark.parametrize("alias", TIME_COLUMNS)
@pytest.mark.parametrize("spelling", [str.lower, str.upper, str.title, lambda s: f"  {s} "])
def test_every_time_column_alias_is_accepted_in_any_case_and_spacing(alias: str, spelling: object) -> None:
    assert callable(spelling)
    header = f"{spelling(alias)},open,high,low,close,volume"
    assert table(header, f"2024-01-02T00:00:00Z,{ROW}") == [JAN2]


def test_value_columns_are_found_in_any_case_and_order() -> None:
    text = " VOLUME ,Close,Date,HIGH, low ,Open\n7,11,2024-01-02,12,9,10\n"
    t = parse_ohlcv(text, tz="UTC")
    (bar,) = t.candles()
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(map(Decimal, "10 12 9 11 7".split()))
    assert bar.ts == datetime(2024, 1, 2, tzinfo=UTC)


def test_adj_close_and_other_extra_columns_are_ignored_not_taken_for_close() -> None:
    text = "Date,Open,High,Low,Close,Adj Close,Volume,Dividends,Stock Splits\n"
    text += "2024-01-02,10,12,9,11,5.5,7,0.24,0\n"
    (bar,) = parse_ohlcv(text, tz="UTC").candles()
    assert bar.close == Decimal(11) and bar.volume == Decimal(7)


def test_a_file_with_only_adj_close_lacks_a_close() -> None:
    e = refusal("date,open,high,low,adj close,volume\n2024-01-02Z,10,12,9,11,7\n")
    assert e.line == 1 and "missing column(s) close" in e.reason


def test_epoch_seconds_and_milliseconds_are_told_apart_by_magnitude() -> None:
    header = "timestamp,open,high,low,close,volume"
    got = table(header, f"{JAN2_S},{ROW}", f"{JAN2_S + 3600}000,{ROW}", f"{JAN2_S + 7200}.5,{ROW}")
    assert got == [JAN2, JAN2 + HOUR, JAN2 + 2 * HOUR + 500_000_000]
    assert table(header, f"9000000000,{ROW}") == [9_000_000_000 * 10**9]  # under 1e11: seconds (2255)
    assert table(header, f"100000000000,{ROW}") == [100_000_000_000 * 10**6]  # 1e11: milliseconds


def test_epoch_numbers_are_utc_whatever_the_tz() -> None:
    assert table("ts,open,high,low,close,volume", f"{JAN2_S},{ROW}", tz="Asia/Tokyo") == [JAN2]


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-01-02T10:00:00Z", JAN2 + 10 * HOUR),
        ("2024-01-02T10:00:00+00:00", JAN2 + 10 * HOUR),
        ("2024-01-02 10:00:00+02:00", JAN2 + 8 * HOUR),
        ("2024-01-02T10:00:00.250-05:00", JAN2 + 15 * HOUR + 250_000_000),
    ],
)
def test_iso_times_with_z_or_an_offset_need_no_tz(text: str, ns: int) -> None:
    assert table("datetime,open,high,low,close,volume", f"{text},{ROW}") == [ns]


@pytest.mark.parametrize("when", ["2024-01-02", "2024-01-02T10:00:00", "2024-01-02 10:00"])
def test_a_time_without_a_zone_is_refused_without_tz_with_the_hint(when: str) -> None:
    e = refusal(f"ts,open,high,low,close,volume\n{JAN2_S - 86_400},{ROW}\n{when},{ROW}\n")
    assert isinstance(e, InvalidInput) and e.line == 3
    assert f"ts {when!r} has no zone" in e.reason
    assert "--tz UTC" in e.reason and '"tz": "UTC"' in e.reason
    assert str(e).startswith("x.csv line 3: ")


def test_a_time_without_a_zone_is_read_in_the_given_tz() -> None:
    header = "date,open,high,low,close,volume"
    assert table(header, f"2024-01-02,{ROW}", f"2024-01-02 10:00,{ROW}", tz="UTC") == [JAN2, JAN2 + 10 * HOUR]
    assert table(header, f"2024-01-02 10:00,{ROW}", tz="Europe/Berlin") == [JAN2 + 9 * HOUR]
    assert table(header, f"2024-01-02T10:00:00+00:00,{ROW}", tz="Europe/Berlin") == [JAN2 + 10 * HOUR]


@pytest.mark.parametrize(
    ("when", "what"),
    [("2024-03-31 02:30", "does not exist"), ("2024-10-27 02:30", "is ambiguous")],
)
def test_local_times_a_clock_change_skips_or_repeats_are_refused(when: str, what: str) -> None:
    e = refusal(f"time,open,high,low,close,volume\n{when},{ROW}\n", tz="Europe/Berlin")
    assert e.line == 2 and what in e.reason and "write its offset" in e.reason


def test_an_unknown_tz_is_refused_naming_it() -> None:
    e = refusal(f"ts,open,high,low,close,volume\n{JAN2_S},{ROW}\n", tz="Mars/Olympus")
    assert e.line is None and "tz 'Mars/Olympus' is not a known time zone" in str(e)
    assert parse_tz("utc") is UTC and parse_tz(None) is None
    with pytest.raises(InvalidInput, match="IANA name"):
        parse_tz("../../etc/passwd")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2024-01-03T00:00:00Z,abc,11,9,10,1", "open 'abc' is not a number"),
        ("2024-01-03T00:00:00Z,10,11,9,10,nan", "volume 'nan' is not a finite number"),
        ("soon,10,11,9,10,1", "ts 'soon' is neither ISO-8601 nor epoch"),
        ("170406720000000,10,11,9,10,1", "too large for epoch milliseconds"),
        ("2024-01-03T00:00:00Z,10,11,9,12,1", "close 12 is outside [low 9, high 11]"),
        ("2024-01-03T00:00:00Z,10,9,11,10,1", "high 9 is below low 11"),
        ("2024-01-03T00:00:00Z,10,11,9,10", "expected 6 fields, got 5"),
        ("2024-01-02T00:00:00Z,10,11,9,10,1", "duplicates the one on line 2"),
        ("2024-01-01T00:00:00Z,10,11,9,10,1", "is earlier than the one on line 2"),
    ],
)
def test_a_bad_row_names_its_line_and_the_reason(row: str, reason: str) -> None:
    e = refusal(f"ts,open,high,low,close,volume\n2024-01-02T00:00:00Z,{ROW}\n\n{row}\n")
    assert e.line == 4 and reason in e.reason  # the blank line 3 still counts


def test_values_stay_exact_decimals_and_lines_are_physical() -> None:
    t = parse_ohlcv(f"\ufeffts,open,high,low,close,volume\n\n{JAN2_S},1.10,1.2,1.05,1.15,0\n")
    assert t.lines == [3] and t.columns["open"] == [Decimal("1.10")] and len(t) == 1
    assert str(t.candles()[0].open) == "1.10"


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_old_mac_windows_and_unix_line_ends_read_the_same_bars(end: str) -> None:
    text = (
        end.join(
            ["ts,open,high,low,close,volume", f"2024-01-02T00:00:00Z,{ROW}", f"2024-01-03T00:00:00Z,{ROW}"]
        )
        + end
    )
    t = parse_ohlcv(text)
    assert t.ts == [JAN2, JAN2 + 24 * HOUR] and t.lines == [2, 3]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        # A lone carriage return before the header once escaped the reader as a csv.Error (500).
        ("\rts,open\n", 1, "is empty"),
        # A field over the csv module's limit is not a stack trace either.
        (
            f"ts,open,high,low,close,volume\n2024-01-02T00:00:00Z,{'1' * 200_000},1,1,1,1\n",
            2,
            "is not valid CSV",
        ),
    ],
)
def test_text_the_csv_module_rejects_is_refused_naming_its_line(text: str, line: int, reason: str) -> None:
    e = refusal(text)
    assert e.line == line and reason in e.reason
