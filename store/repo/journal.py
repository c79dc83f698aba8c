"""Decisions, risk/control events and PnL snapshots: append-once records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Double, Select, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import DecisionRow, LlmCallRow, PnlSnapshotRow, RiskEventRow
from store.repo._common import FRESH, as_text, dialect_insert, fetch_all, fetch_first
from trading.errors import TemporaryError

_DECISION_KEY = [DecisionRow.strategy_id, DecisionRow.cycle, DecisionRow.symbol]


async def record_decision(
    session: AsyncSession,
    *,
    strategy_id: str | None,
    cycle: int | None,
    symbol: str,
    target: str,
    confidence: float,
    rationale: str,
    signal: dict[str, Any],
    now: datetime,
    analysis_id: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> DecisionRow:
    """Record a decision once: a strategy's by (strategy, cycle, symbol), an ad-hoc one by its
    ``analysis_id``; a repeat returns the first one. ``record`` carries the rest of the record
    (mode, as_of, inputs, output, model, prompt_hash, tokens_in, tokens_out, cost, latency_ms, error,
    code_version)."""
    if (strategy_id is None) != (cycle is None) or (strategy_id is None) == (analysis_id is None):
        raise ValueError("a decision has either a strategy and a cycle, or an analysis id")
    extra = {k: v for k, v in (record or {}).items() if k in _RECORD_FIELDS}
    stmt = (
        dialect_insert(session, DecisionRow)
        .values(
            strategy_id=strategy_id,
            cycle=cycle,
            analysis_id=analysis_id,
            symbol=symbol,
            target=as_text(target),
            confidence=float(confidence),
            rationale=rationale,
            signal=signal,
            created_at=now,
            **extra,
        )
        .on_conflict_do_nothing(
            index_elements=_DECISION_KEY if analysis_id is None else [DecisionRow.analysis_id]
        )
        .returning(DecisionRow)
    )
    row = (await session.scalars(stmt, execution_options=FRESH)).first()
    if row is not None:
        return row
    if analysis_id is not None:
        where = [DecisionRow.analysis_id == analysis_id]
    else:
        where = [
            DecisionRow.strategy_id == strategy_id,
            DecisionRow.cycle == cycle,
            DecisionRow.symbol == symbol,
        ]
    existing = await fetch_first(session, select(DecisionRow).where(*where))
    if existing is None:  # a concurrent insert this transaction's snapshot cannot see yet
        key = analysis_id or f"{strategy_id}/{cycle}/{symbol}"
        raise TemporaryError(f"decision {key} neither inserted nor visible; retry")
    return existing


_RECORD_FIELDS = frozenset(
    {
        "mode",
        "as_of",
        "inputs",
        "output",
        "model",
        "prompt_hash",
        "tokens_in",
        "tokens_out",
        "cost",
        "latency_ms",
        "error",
        "code_version",
    }
)


async def cycle_decisions(session: AsyncSession, *, strategy_id: str, cycle: int) -> list[DecisionRow]:
    """The decisions already recorded for one cycle of a strategy."""
    stmt = select(DecisionRow).where(DecisionRow.strategy_id == strategy_id, DecisionRow.cycle == cycle)
    return await fetch_all(session, stmt)


async def get_decision(
    session: AsyncSession, *, decision_id: int | None = None, analysis_id: str | None = None
) -> DecisionRow | None:
    """One decision by its id or by its analysis id."""
    if decision_id is not None:
        return await fetch_first(session, select(DecisionRow).where(DecisionRow.id == decision_id))
    return await fetch_first(session, select(DecisionRow).where(DecisionRow.analysis_id == analysis_id))


async def record_llm_calls(
    session: AsyncSession, *, calls: Sequence[Mapping[str, Any]], now: datetime
) -> int:
    """Record LLM calls once each by ``call_key`` (at their own ``created_at``, else ``now``);
    returns how many were new."""
    new = 0
    for call in calls:
        stmt = (
            dialect_insert(session, LlmCallRow)
            .values(**({"created_at": now} | dict(call)))
            .on_conflict_do_nothing(index_elements=[LlmCallRow.call_key])
            .returning(LlmCallRow.id)
        )
        new += len((await session.execute(stmt)).all())
    return new


async def llm_spend(
    session: AsyncSession, *, strategy_id: str | None, since: datetime
) -> tuple[int, Decimal, int]:
    """Tokens, cost and number of LLM calls of a strategy (None: of the ad-hoc analyses) since a
    time (its budget's day)."""
    whose = LlmCallRow.strategy_id.is_(None) if strategy_id is None else LlmCallRow.strategy_id == strategy_id
    rows = await session.execute(
        select(LlmCallRow.tokens_in, LlmCallRow.tokens_out, LlmCallRow.cost).where(
            whose, LlmCallRow.created_at >= since
        )
    )
    tokens, cost, calls = 0, Decimal(0), 0
    for t_in, t_out, c in rows:
        tokens, cost, calls = tokens + t_in + t_out, cost + c, calls + 1
    return tokens, cost, calls


async def list_decisions(
    session: AsyncSession, *, strategy_id: str | None = None, limit: int = 200, offset: int = 0
) -> list[DecisionRow]:
    """Decisions, newest first, optionally of one strategy (a page: ``offset`` rows skipped)."""
    newest = select(DecisionRow).order_by(DecisionRow.created_at.desc(), DecisionRow.id.desc())
    stmt = newest.limit(limit).offset(offset)
    if strategy_id is not None:
        stmt = stmt.where(DecisionRow.strategy_id == strategy_id)
    return await fetch_all(session, stmt)


SENT = "order_sent"


async def last_order_send(session: AsyncSession, *, client_order_id: str) -> datetime | None:
    """When a request to place this order last went out (None: never), from its ``order_sent`` events."""
    stmt = select(func.max(RiskEventRow.created_at)).where(
        RiskEventRow.kind == SENT,
        RiskEventRow.event_key.startswith(f"{SENT}:{client_order_id}:", autoescape=True),
    )
    found: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None and found.tzinfo is None:  # SQLite returns naive UTC
        found = found.replace(tzinfo=UTC)
    return found


async def record_order_send(
    session: AsyncSession, *, client_order_id: str, strategy_id: str, symbol: str, now: datetime
) -> None:
    """Record that a request to place this order may go out from ``now`` on."""
    await record_event(
        session,
        event_key=f"{SENT}:{client_order_id}:{now.isoformat()}",
        kind=SENT,
        reason=f"order {client_order_id} sent to the venue",
        now=now,
        strategy_id=strategy_id,
        symbol=symbol,
        data={"client_order_id": client_order_id},
    )


async def record_event(
    session: AsyncSession,
    *,
    event_key: str,
    kind: str,
    reason: str,
    now: datetime,
    strategy_id: str | None = None,
    cycle: int | None = None,
    symbol: str | None = None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Record a risk/control event once per ``event_key``; True if it was new."""
    stmt = (
        dialect_insert(session, RiskEventRow)
        .values(
            event_key=event_key,
            kind=as_text(kind),
            reason=reason,
            strategy_id=strategy_id,
            cycle=cycle,
            symbol=symbol,
            data=data if data is not None else {},
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[RiskEventRow.event_key])
        .returning(RiskEventRow.id)
    )
    return (await session.execute(stmt)).first() is not None


async def list_events(
    session: AsyncSession,
    *,
    strategy_id: str | None = None,
    kind: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[RiskEventRow]:
    """Risk/control events, newest first, optionally of one strategy and/or kind (a page)."""
    newest = select(RiskEventRow).order_by(RiskEventRow.created_at.desc(), RiskEventRow.id.desc())
    stmt = newest.limit(limit).offset(offset)
    if strategy_id is not None:
        stmt = stmt.where(RiskEventRow.strategy_id == strategy_id)
    if kind is not None:
        stmt = stmt.where(RiskEventRow.kind == as_text(kind))
    else:  # the send records of order placements are bookkeeping, asked for by kind only
        stmt = stmt.where(RiskEventRow.kind != SENT)
    return await fetch_all(session, stmt)


async def record_pnl(
    session: AsyncSession,
    *,
    strategy_id: str,
    cycle: int,
    ts: datetime,
    realised: Decimal,
    unrealised: Decimal,
    fees: Decimal,
    equity: Decimal,
    exposure: Decimal,
) -> bool:
    """Record the snapshot of (strategy, cycle) once; True if it was new."""
    stmt = (
        dialect_insert(session, PnlSnapshotRow)
        .values(
            strategy_id=strategy_id,
            cycle=cycle,
            ts=ts,
            realised=realised,
            unrealised=unrealised,
            fees=fees,
            equity=equity,
            exposure=exposure,
        )
        .on_conflict_do_nothing(index_elements=[PnlSnapshotRow.strategy_id, PnlSnapshotRow.cycle])
        .returning(PnlSnapshotRow.id)
    )
    return (await session.execute(stmt)).first() is not None


def _newest_pnl_first(stmt: Select[PnlSnapshotRow]) -> Select[PnlSnapshotRow]:
    """Order snapshots newest first."""
    return stmt.order_by(PnlSnapshotRow.ts.desc(), PnlSnapshotRow.cycle.desc(), PnlSnapshotRow.id.desc())


async def list_pnl(
    session: AsyncSession, *, strategy_id: str | None = None, limit: int = 500, offset: int = 0
) -> list[PnlSnapshotRow]:
    """PnL snapshots, newest first, optionally of one strategy (a page: ``offset`` rows skipped)."""
    stmt = _newest_pnl_first(select(PnlSnapshotRow)).limit(limit).offset(offset)
    if strategy_id is not None:
        stmt = stmt.where(PnlSnapshotRow.strategy_id == strategy_id)
    return await fetch_all(session, stmt)


async def latest_pnl(session: AsyncSession, *, strategy_id: str) -> PnlSnapshotRow | None:
    """The newest snapshot of a strategy, or None."""
    stmt = _newest_pnl_first(select(PnlSnapshotRow).where(PnlSnapshotRow.strategy_id == strategy_id))
    return await fetch_first(session, stmt)


async def daily_pnl_base(
    session: AsyncSession, *, strategy_id: str, since: datetime
) -> PnlSnapshotRow | None:
    """The newest snapshot strictly before ``since`` (e.g. midnight UTC), the base of today's PnL."""
    stmt = _newest_pnl_first(
        select(PnlSnapshotRow).where(PnlSnapshotRow.strategy_id == strategy_id, PnlSnapshotRow.ts < since)
    )
    return await fetch_first(session, stmt)


async def peak_equity(session: AsyncSession, *, strategy_id: str) -> Decimal | None:
    """The highest equity a strategy has recorded, exactly; None before its first snapshot."""
    of_strategy = PnlSnapshotRow.strategy_id == strategy_id
    max_equity = select(func.max(PnlSnapshotRow.equity))
    if session.get_bind().dialect.name == "postgresql":
        peak: Decimal | None = await session.scalar(max_equity.where(of_strategy))
        return peak
    # SQLite keeps Money as text, where MAX() is lexicographic. REAL is monotonic in
    # the exact value, so the exact peak is among the rows whose REAL is (within
    # rounding) the largest; pick it exactly in Python.
    as_real = cast(PnlSnapshotRow.equity, Double)
    top = select(func.max(as_real)).where(of_strategy).scalar_subquery()
    slack = func.abs(top) * 1e-9 + 1e-300
    near_top = select(PnlSnapshotRow.equity).where(of_strategy, as_real >= top - slack)
    candidates = await session.scalars(near_top)
    return max(candidates.all(), default=None)
