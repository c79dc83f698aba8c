"""CSV bars: good files, every refusal with its line number, gap detection, the bundled data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trading.bars_csv import HEADER, BarsCsvError, Gap, detect_gaps, load_bars_csv
from trading.errors import InvalidInput

DATA = Path(__file__).resolve().parents[2] / "data"
HOUR = 3600 * 10**9
DAY = 24 * HOUR
# 2024-01-01T00:00:00Z (a Monday) in nanoseconds.
JAN1 = 1_704_067_200 * 10**9


def csv_text(*rows: str, header: str = ",".join(HEADER)) -> str:
    return "\n".join([header, *rows]) + "\n"


GOOD = csv_text(
    "2024-01-01T00:00:00Z,10,11,9,10.5,100",
    "2024-01-01T01:00:00+00:00,10.5,12,10,11,0",
    "2024-01-01T03:00:00+01:00,11,11,11,11,5.5",  # 02:00 UTC
)


def test_good_text_loads_as_arrays() -> None:
    b = load_bars_csv(GOOD)
    assert b.ts.dtype == np.int64 and b.close.dtype == np.float64
    assert b.ts.tolist() == [JAN1, JAN1 + HOUR, JAN1 + 2 * HOUR]
    assert b.open.tolist() == [10.0, 10.5, 11.0]
    assert b.high.tolist() == [11.0, 12.0, 11.0]
    assert b.low.tolist() == [9.0, 10.0, 11.0]
    assert b.close.tolist() == [10.5, 11.0, 11.0]
    assert b.volume.tolist() == [100.0, 0.0, 5.5]
    ts, *_, v = b  # a plain tuple too
    assert ts is b.ts and v is b.volume


def test_file_path_as_path_or_str(tmp_path: Path) -> None:
    f = tmp_path / "bars.csv"
    f.write_text(GOOD, encoding="utf-8")
    assert (
        load_bars_csv(f).ts.tolist() == load_bars_csv(str(f)).ts.tolist() == load_bars_csv(GOOD).ts.tolist()
    )


def test_epoch_seconds_and_milliseconds() -> None:
    b = load_bars_csv(
        csv_text(
            "1704067200,1,1,1,1,0",
            "1704067260.5,1,1,1,1,0",
            "1704067320000,1,1,1,1,0",
            "1704067380123,1,1,1,1,0",
        )
    )
    base = 1_704_067_200 * 10**9
    assert b.ts.tolist() == [base, base + 60_500_000_000, base + 120 * 10**9, base + 180_123_000_000]


def test_header_in_any_order_and_case_with_extra_columns_ignored() -> None:
    text = "Close,TS,volume,Open,low,high,note\n11,2024-01-01T00:00:00Z,7,10,9,12,hello\n"
    b = load_bars_csv(text)
    assert (b.open[0], b.high[0], b.low[0], b.close[0], b.volume[0]) == (10, 12, 9, 11, 7)


def test_blank_lines_and_bom_are_tolerated_and_line_numbers_stay_physical() -> None:
    text = "\ufeff" + csv_text("2024-01-01T00:00:00Z,1,1,1,1,0", "", "2024-01-01T00:00:00Z,1,1,1,1,0")
    with pytest.raises(BarsCsvError) as e:
        load_bars_csv(text)
    assert e.value.line == 4


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2024-01-02T00:00:00Z,abc,11,9,10,1", "open 'abc' is not a number"),
        ("2024-01-02T00:00:00Z,10,11,9,,1", "close '' is not a number"),
        ("2024-01-02T00:00:00Z,10,11,9,10,nan", "volume 'nan' is not a finite number"),
        ("2024-01-02T00:00:00Z,10,inf,9,10,1", "high 'inf' is not a finite number"),
        ("yesterday,10,11,9,10,1", "ts 'yesterday' is neither ISO-8601 nor epoch"),
        ("2024-13-02T00:00:00Z,10,11,9,10,1", "ts '2024-13-02T00:00:00Z' is neither ISO-8601"),
        ("2024-01-02T00:00:00,10,11,9,10,1", "has no zone"),
        ("2024-01-02,10,11,9,10,1", "has no zone"),
        ("170406720000000,10,11,9,10,1", "too large for epoch milliseconds"),
        ("2024-01-02T00:00:00Z,0,11,9,10,1", "open 0 is not a positive price"),
        ("2024-01-02T00:00:00Z,10,11,-9,10,1", "low -9 is not a positive price"),
        ("2024-01-02T00:00:00Z,10,9,11,10,1", "high 9 is below low 11"),
        ("2024-01-02T00:00:00Z,12,11,9,10,1", "open 12 is outside [low 9, high 11]"),
        ("2024-01-02T00:00:00Z,10,11,9,8.5,1", "close 8.5 is outside [low 9, high 11]"),
        ("2024-01-02T00:00:00Z,10,11,9,10,-1", "volume -1 is negative"),
        ("2024-01-02T00:00:00Z,10,11,9,10", "expected 6 fields, got 5"),
        ("2024-01-02T00:00:00Z,10,11,9,10,1,2", "expected 6 fields, got 7"),
        ("2024-01-01T00:00:00Z,10,11,9,10,1", "duplicates the one on line 3"),
        ("2024-01-01T00:00:00+01:00,10,11,9,10,1", "is earlier than the one on line 3"),
    ],
)
def test_bad_row_is_refused_with_its_line_and_reason(row: str, reason: str) -> None:
    # lines: 1 header, 2 and 3 good bars, 4 the bad one, 5 a good bar that is never reached
    text = csv_text(
        "2023-12-31T23:00:00Z,10,11,9,10,1",
        "2024-01-01T00:00:00Z,10,11,9,10,1",
        row,
        "2024-01-03T00:00:00Z,10,11,9,10,1",
    )
    with pytest.raises(BarsCsvError) as e:
        load_bars_csv(text)
    assert isinstance(e.value, InvalidInput)
    assert e.value.line == 4 and reason in e.value.reason
    assert str(e.value).startswith("CSV text line 4: ")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("ts,open,low,close", "missing column(s) high, volume in the header"),
        ("when,open,high,low,close,volume", "missing the time column (one of ts, timestamp, date"),
        ("date,time,open,high,low,close,volume", "more than one time column: date, time"),
        ("ts,open,high,low,adj close,volume", "missing column(s) close"),
        ("ts,open,high,low,close,volume,open", "column(s) open appear more than once"),
    ],
)
def test_bad_header_is_line_one(header: str, message: str) -> None:
    with pytest.raises(BarsCsvError) as e:
        load_bars_csv(csv_text("2024-01-01T00:00:00Z,1,1,1,1,1", header=header))
    assert e.value.line == 1 and message in str(e.value)


def test_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BarsCsvError, match="is empty; expected the header ts,open"):
        load_bars_csv(empty)
    with pytest.raises(BarsCsvError, match="CSV text: has a header but no bars"):
        load_bars_csv(csv_text())


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BarsCsvError, match=r"nope\.csv: cannot be read"):
        load_bars_csv(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(BarsCsvError, match="is not UTF-8 text"):
        load_bars_csv(binary)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(csv_text("2024-01-01T00:00:00Z,1,1,1,1,-5"))
    with pytest.raises(BarsCsvError, match=r"bad\.csv line 2: volume -5 is negative"):
        load_bars_csv(f)


# --- gaps ------------------------------------------------------------------------------------


def test_detect_gaps_against_the_median_interval() -> None:
    ts = [JAN1 + h * HOUR for h in (0, 1, 2, 5, 6, 7, 8, 10)]
    assert detect_gaps(ts) == [
        Gap(JAN1 + 2 * HOUR, JAN1 + 5 * HOUR, 2),
        Gap(JAN1 + 8 * HOUR, JAN1 + 10 * HOUR, 1),
    ]
    assert detect_gaps(ts, min_missing=2) == [Gap(JAN1 + 2 * HOUR, JAN1 + 5 * HOUR, 2)]
    assert detect_gaps(ts[:3]) == [] and detect_gaps(ts[:1]) == [] and detect_gaps([]) == []


def test_slightly_late_bars_are_not_gaps() -> None:
    ts = [JAN1, JAN1 + 60, JAN1 + 120, JAN1 + 209]  # 89 s is under 1.5 intervals of 60 s
    assert detect_gaps(np.array(ts, dtype=np.int64)) == []


def test_daily_weekday_series_skips_weekends_but_reports_holidays() -> None:
    days = [d for d in range(21) if d % 7 < 5 and d != 9]  # three Mon-Fri weeks, Wednesday 2024-01-10 missing
    ts = [JAN1 + d * DAY for d in days]
    assert detect_gaps(ts) == [Gap(JAN1 + 8 * DAY, JAN1 + 10 * DAY, 1)]
    weekends = detect_gaps(ts, weekdays=False)  # in calendar time every weekend is a 2-bar gap
    assert [g.missing_bars for g in weekends] == [2, 1, 2]


def test_a_series_with_weekend_bars_is_measured_in_calendar_time() -> None:
    ts = [JAN1 + d * DAY for d in (0, 1, 2, 3, 4, 6, 7)]  # Sunday present, Saturday missing
    assert detect_gaps(ts) == [Gap(JAN1 + 4 * DAY, JAN1 + 6 * DAY, 1)]


def test_max_gap_ratio_makes_gaps_fatal() -> None:
    ts = [JAN1 + h * HOUR for h in (0, 1, 2, 5, 6)]
    assert len(detect_gaps(ts, max_gap_ratio=3)) == 1  # an interval of exactly 3 is allowed
    with pytest.raises(InvalidInput, match="gap of 3 median bar intervals between 2024-01-01T02:00:00Z"):
        detect_gaps(ts, max_gap_ratio=2.5)
    with pytest.raises(InvalidInput, match="max_gap_ratio must be at least 1"):
        detect_gaps(ts, max_gap_ratio=0.5)


def test_max_gap_ratio_on_load_names_the_line() -> None:
    text = csv_text(*(f"2024-01-01T{h:02d}:00:00Z,1,1,1,1,0" for h in (0, 1, 2, 9, 10)))
    assert load_bars_csv(text).ts.size == 5
    with pytest.raises(BarsCsvError) as e:
        load_bars_csv(text, max_gap_ratio=4)
    assert e.value.line == 5 and "after 2024-01-01T02:00:00Z (line 4)" in str(e.value)


def test_detect_gaps_needs_increasing_times() -> None:
    with pytest.raises(InvalidInput, match="strictly increasing"):
        detect_gaps([JAN1, JAN1])


# --- bundled data ----------------------------------------------------------------------------

# What the bundled files hold: the daily stock/index files have no weekend bars, so weekends are
# skipped and each exchange holiday is a one-bar gap (two bars: Hurricane Sandy, 2012-10-29/30,
# and MSFT's 2007-01-02 day of mourning next to New Year). EUR/USD trades from Sunday evening, so
# it is measured in calendar time: each weekend close is a 48-49 bar gap, plus Christmas Day.
BUNDLED_GAPS = {
    "EUR-USD-1h.csv": (3000, {48: 23, 49: 2, 14: 1}),
    "GOOGL-USD-1d.csv": (2335, {1: 82, 2: 1}),
    "MSFT-USD-1d.csv": (3000, {1: 105, 2: 2}),
    "SPX-USD-1d.csv": (3000, {1: 106, 2: 1}),
}


@pytest.mark.parametrize("name", sorted(BUNDLED_GAPS))
def test_bundled_files_load_cleanly(name: str) -> None:
    bars, (count, gaps) = load_bars_csv(DATA / name), BUNDLED_GAPS[name]
    assert bars.ts.size == count
    assert np.all(np.diff(bars.ts) > 0) and np.all(bars.low <= bars.high)
    found: dict[int, int] = {}
    for g in detect_gaps(bars.ts):
        found[g.missing_bars] = found.get(g.missing_bars, 0) + 1
    assert found == gaps


def test_every_bundled_csv_is_covered() -> None:
    assert sorted(p.name for p in DATA.glob("*.csv")) == sorted(BUNDLED_GAPS)


def test_bundled_daily_files_pass_a_strict_gap_ratio() -> None:
    for name in ("GOOGL-USD-1d.csv", "MSFT-USD-1d.csv", "SPX-USD-1d.csv"):
        load_bars_csv(DATA / name, max_gap_ratio=3)
    with pytest.raises(BarsCsvError, match="line 17: gap of 49 median bar intervals"):
        load_bars_csv(DATA / "EUR-USD-1h.csv", max_gap_ratio=3)
