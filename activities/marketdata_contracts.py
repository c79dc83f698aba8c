"""Input and output models of the market-data workflow, its activities, the CLI and the API.

Plain pydantic, no I/O: workflows import this module. New fields must have defaults, so recorded
histories still decode. Times are UTC; a time given without a zone is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from activities.bounds import Timeframe

# Gaps listed in a result at most (their count and the bars missing are always exact).
MAX_GAPS_LISTED = 20
# Series one MarketDataWorkflow run backfills at most.
MAX_SERIES = 500

CalendarName = Literal["auto", "continuous", "weekdays"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SeriesKey(BaseModel):
    """One series: venue, symbol and timeframe ("1m", "1h", "1d", ...)."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(min_length=1, max_length=64, examples=["paper"])
    symbol: str = Field(min_length=1, max_length=64, examples=["MSFT/USD"])
    timeframe: Timeframe


class BackfillInput(SeriesKey):
    """Store a series' closed bars from its venue, from the newest stored bar on.

    With nothing stored, the first bar wanted is ``since`` (None: the venue's first bar).
    A ``since`` before the first stored bar also fetches the bars before it; one after the
    newest stored bar starts there (the bars between are reported as a gap). ``until``
    (inclusive) stops at that open time; ``page`` is the bars asked per request.
    """

    since: datetime | None = None
    until: datetime | None = None
    page: int = Field(default=500, ge=1, le=5000)

    @field_validator("since", "until")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> BackfillInput:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since ({self.since.isoformat()}) is after until ({self.until.isoformat()})")
        return self


class GapInfo(BaseModel):
    """Bars missing between two stored bars (their open times)."""

    after: datetime
    before: datetime
    missing: int


class SeriesStatus(SeriesKey):
    """A stored series: its extent, size and gaps (``gaps`` lists the first MAX_GAPS_LISTED)."""

    first: datetime | None = None
    last: datetime | None = None
    count: int = 0
    gap_count: int = 0
    missing: int = 0
    gaps: list[GapInfo] = Field(default_factory=list)


class BackfillResult(SeriesStatus):
    """What one backfill did (``failed`` with the reason in ``errors``) and the series after it."""

    pages: int = 0
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    notes: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    failed: bool = False


class MarketDataInput(BaseModel):
    """Input of MarketDataWorkflow: the series to bring up to date, ``concurrency`` at a time."""

    # The API refuses an empty list (there is nothing to start); a schedule never sends one.
    series: list[BackfillInput] = Field(
        default_factory=list, max_length=MAX_SERIES, json_schema_extra={"minItems": 1}
    )
    concurrency: int = Field(default=4, ge=1, le=32)


class MarketDataResult(BaseModel):
    """Output of MarketDataWorkflow: one result per series (in input order) and the totals."""

    series: list[BackfillResult] = Field(default_factory=list)
    new: int = 0
    gap_count: int = 0
    failed: int = 0


class DataStatusInput(BaseModel):
    """Which stored series to describe (None: all)."""

    exchange: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    calendar: CalendarName = "auto"


class DataStatus(BaseModel):
    """Every stored series matching a DataStatusInput."""

    series: list[SeriesStatus] = Field(default_factory=list)


class ImportResult(SeriesStatus):
    """What importing a CSV did, and the series after it."""

    source: str = ""
    bars: int = 0
    new: int = 0
    duplicates: int = 0
    replaced: int = 0
