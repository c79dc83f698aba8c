"""The one OHLCV CSV reader: every file the backtester, the paper venue and the import read.

The header names a time column, ``ts``, ``timestamp``, ``date``, ``datetime`` or ``time``, and
``open, high, low, close, volume``: in any order and case, surrounding spaces ignored. Other
columns (``Adj Close``, ``Dividends``, ...) are ignored; a name counts only when it is one of
these whole, so ``Adj Close`` is never the close.

Times are epoch seconds or milliseconds, or ISO-8601 dates and datetimes. An epoch number of
magnitude 1e11 or more is milliseconds (1e11 seconds would be the year 5138; so milliseconds
before 1973-03-03 read as seconds), from 1e14 on it is refused; epoch numbers are UTC. An ISO
time with ``Z`` or an offset is that instant; one without a zone (``2024-01-02``,
``2024-01-02 10:00``) is read in the caller's ``tz`` (an IANA name such as ``UTC`` or
``Europe/Berlin``) and refused without one, as is a local time that ``tz`` skips or repeats at a
daylight-saving change.

Prices must be positive with ``low <= open, close <= high``, volume not negative, every number
finite; times strictly increasing. Values stay exact ``Decimal``. Every refusal is a
``BarsCsvError`` (an ``InvalidInput``) naming the 1-based line, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trading.errors import InvalidInput
from trading.models import Candle

HEADER = ("ts", "open", "high", "low", "close", "volume")
TIME_COLUMNS = ("ts", "timestamp", "date", "datetime", "time")
VALUES = HEADER[1:]
_PRICES = ("open", "high", "low", "close")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Epoch numbers of this magnitude or more are milliseconds; from _EPOCH_MS_LIMIT on, refused.
_EPOCH_MS_FROM = Decimal(10**11)
_EPOCH_MS_LIMIT = Decimal(10**14)
_EPOCH_NUMBER_RE = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_INT64 = (-(2**63), 2**63 - 1)
# What an IANA zone name looks like ("UTC", "Europe/Berlin", "Etc/GMT+5"), for schemas to state;
# ``parse_tz`` checks that the zone exists.
TZ_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*$"
NO_ZONE_HINT = (
    'pass --tz UTC (CLI) or "tz": "UTC" (API) to read times without a zone as UTC, '
    "or write the zone, e.g. 2024-01-02T10:00:00Z"
)


class BarsCsvError(InvalidInput):
    """A bars CSV that cannot be used; ``line`` is the 1-based line at fault, None for the whole file."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source} line {line}: {reason}" if line is not None else f"{source}: {reason}")


@dataclass(slots=True)
class OhlcvTable:
    """A validated file's bars, oldest first: open times as UTC epoch nanoseconds, values exact.

    ``lines`` is the physical line each bar was read from; ``name`` names the file in errors.
    """

    name: str
    lines: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    columns: dict[str, list[Decimal]] = field(default_factory=lambda: {c: [] for c in VALUES})

    def __len__(self) -> int:
        return len(self.ts)

    def times(self) -> list[datetime]:
        """The open times as UTC datetimes (microsecond precision)."""
        return [_EPOCH + timedelta(microseconds=t // 1000) for t in self.ts]

    def candles(self) -> list[Candle]:
        """The bars as candles with exact ``Decimal`` values."""
        cols = [self.columns[c] for c in VALUES]
        return [Candle(ts, *row) for ts, *row in zip(self.times(), *cols, strict=True)]


def parse_tz(tz: str | None) -> tzinfo | None:
    """The zone named ``tz`` (an IANA name; "UTC" is UTC), or None; raises InvalidInput if unknown."""
    if tz is None:
        return None
    name = tz.strip()
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"tz {tz!r} is not a known time zone; give an IANA name such as UTC or Europe/Berlin"
        ) from None


def read_csv_text(path: Path, name: str | None = None) -> str:
    """A CSV file's text (UTF-8, a byte-order mark dropped); raises BarsCsvError naming the file."""
    label = str(path) if name is None else name
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BarsCsvError(label, None, "is not UTF-8 text") from None
    except OSError as e:
        raise BarsCsvError(label, None, f"cannot be read: {e.strerror or e}") from e


def load_ohlcv(source: str | Path, *, tz: str | None = None) -> OhlcvTable:
    """Read a file (a ``Path``, or a ``str`` without a newline) or CSV text (a ``str`` with one)."""
    if isinstance(source, Path) or "\n" not in source:
        return parse_ohlcv(read_csv_text(Path(source)), name=str(source), tz=tz)
    return parse_ohlcv(source, tz=tz)


def parse_ohlcv(text: str, *, name: str = "CSV text", tz: str | None = None) -> OhlcvTable:
    """Validate a whole CSV text and return its bars; the first bad row raises BarsCsvError."""
    try:
        zone = parse_tz(tz)
    except InvalidInput as e:
        raise BarsCsvError(name, None, str(e)) from None
    # newline="": the csv module reads line ends itself, so a lone "\r" ends a line as "\n" does.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        return _read_table(name, reader, zone)
    except csv.Error as e:
        raise BarsCsvError(name, reader.line_num or 1, f"is not valid CSV: {e}") from None


def _read_table(name: str, reader: Any, zone: tzinfo | None) -> OhlcvTable:
    header = next(reader, None)
    if header is None or all(not h.strip() for h in header):
        raise BarsCsvError(name, 1, f"is empty; expected the header {','.join(HEADER)}")
    width, at = len(header), _columns(name, header)
    out = OhlcvTable(name)
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != width:
            raise BarsCsvError(name, line, f"expected {width} fields, got {len(row)}")
        try:
            ts = parse_time(row[at["ts"]], zone)
            bar = {c: _number(c, row[at[c]]) for c in VALUES}
            check_bar(bar)
        except ValueError as e:
            raise BarsCsvError(name, line, str(e)) from None
        if out.ts and ts <= out.ts[-1]:
            what = "duplicates" if ts == out.ts[-1] else "is earlier than"
            raise BarsCsvError(
                name,
                line,
                f"timestamp {row[at['ts']].strip()} {what} the one on line {out.lines[-1]}; "
                "bars must be in strictly increasing time order",
            )
        out.ts.append(ts)
        out.lines.append(line)
        for c in VALUES:
            out.columns[c].append(bar[c])
    if not out.ts:
        raise BarsCsvError(name, None, "has a header but no bars")
    return out


def _columns(name: str, header: list[str]) -> dict[str, int]:
    """Where each of HEADER is in the header ("ts" standing for the time column, by any alias)."""
    cols = [h.strip().lower() for h in header]
    times = [c for c in cols if c in TIME_COLUMNS]
    if not times:
        raise BarsCsvError(
            name, 1, f"missing the time column (one of {', '.join(TIME_COLUMNS)}) in the header"
        )
    if len(times) > 1:
        raise BarsCsvError(name, 1, f"more than one time column: {', '.join(times)}; keep one")
    missing = [c for c in VALUES if c not in cols]
    if missing:
        raise BarsCsvError(name, 1, f"missing column(s) {', '.join(missing)} in the header")
    repeated = sorted({c for c in VALUES if cols.count(c) > 1})
    if repeated:
        raise BarsCsvError(name, 1, f"column(s) {', '.join(repeated)} appear more than once")
    return {"ts": cols.index(times[0])} | {c: cols.index(c) for c in VALUES}


def _number(column: str, text: str) -> Decimal:
    s = text.strip()
    try:
        v = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{column} {s!r} is not a number") from None
    if not v.is_finite():
        raise ValueError(f"{column} {s!r} is not a finite number")
    return v


def check_bar(bar: dict[str, Decimal]) -> None:
    """Raise ValueError unless prices are positive, low..high encloses open and close, volume >= 0."""
    for c in _PRICES:
        if bar[c] <= 0:
            raise ValueError(f"{c} {bar[c]} is not a positive price")
    lo, hi = bar["low"], bar["high"]
    if hi < lo:
        raise ValueError(f"high {hi} is below low {lo}")
    for c in ("open", "close"):
        if not lo <= bar[c] <= hi:
            raise ValueError(f"{c} {bar[c]} is outside [low {lo}, high {hi}]")
    if bar["volume"] < 0:
        raise ValueError(f"volume {bar['volume']} is negative")


def parse_time(text: str, zone: tzinfo | None = None) -> int:
    """UTC epoch nanoseconds of an epoch number or an ISO-8601 time (a naive one in ``zone``)."""
    s = text.strip()
    if _EPOCH_NUMBER_RE.match(s):
        v = Decimal(s)
        if abs(v) >= _EPOCH_MS_LIMIT:
            raise ValueError(f"ts {s!r} is too large for epoch milliseconds; write seconds or milliseconds")
        ns = int(v * (10**6 if abs(v) >= _EPOCH_MS_FROM else 10**9))
    else:
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"ts {s!r} is neither ISO-8601 nor epoch seconds/milliseconds") from None
        if dt.tzinfo is None:
            if zone is None:
                raise ValueError(f"ts {s!r} has no zone; {NO_ZONE_HINT}")
            dt = _localize(s, dt, zone)
        ns = (dt - _EPOCH) // _US * 1000
    if not _INT64[0] <= ns <= _INT64[1]:
        raise ValueError(f"ts {s!r} is outside the years 1677..2262 that nanosecond times can hold")
    return ns


def _localize(text: str, naive: datetime, zone: tzinfo) -> datetime:
    """``naive`` as a time in ``zone``; refused where a clock change skips or repeats it."""
    early, late = naive.replace(tzinfo=zone), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        what = "does not exist" if back != naive else "is ambiguous"
        raise ValueError(f"ts {text!r} {what} in {zone} (a daylight-saving change); write its offset")
    return early
