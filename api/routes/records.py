"""Read-only views of the books: orders, positions, decisions, PnL, events, markets."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.auth.deps import VIEWER
from api.deps import SessionDep, SettingsDep, VenuesDep
from api.exchanges import check_venue
from api.schemas import (
    DecisionDetail,
    DecisionPublic,
    EventPublic,
    FillPublic,
    MarketPublic,
    MarketsPublic,
    OrderPublic,
    Page,
    PnlPublic,
    PositionPublic,
)
from store import repo

router = APIRouter(tags=["books"], dependencies=[VIEWER])

StrategyFilter = Query(default=None, max_length=64, description="only this strategy")
Limit = Query(default=200, ge=1, le=5000, description="at most this many (a page)")
Offset = Query(default=0, ge=0, le=10_000_000, description="skip this many first (the next page)")
# Row ids are signed 64-bit integers in the store: anything else names no row and is refused.
MAX_ROW_ID = 2**63 - 1


@router.get("/orders", response_model=Page[OrderPublic])
async def orders(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit, offset: int = Offset
) -> Page[OrderPublic]:
    """Orders, newest first."""
    rows = await repo.list_orders(session, strategy_id=strategy_id, limit=limit, offset=offset)
    return Page[OrderPublic](data=[OrderPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/fills", response_model=Page[FillPublic])
async def fills(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit, offset: int = Offset
) -> Page[FillPublic]:
    """Fills, newest first."""
    rows = await repo.list_fills(session, strategy_id=strategy_id, newest=limit, offset=offset)
    return Page[FillPublic](data=[FillPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/positions", response_model=Page[PositionPublic])
async def positions(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit, offset: int = Offset
) -> Page[PositionPublic]:
    """Positions per strategy and symbol."""
    rows = await repo.get_positions(session, strategy_id=strategy_id, limit=limit, offset=offset)
    return Page[PositionPublic](data=[PositionPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/decisions", response_model=Page[DecisionPublic])
async def decisions(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit, offset: int = Offset
) -> Page[DecisionPublic]:
    """Agent decisions with confidence and rationale, newest first."""
    rows = await repo.list_decisions(session, strategy_id=strategy_id, limit=limit, offset=offset)
    return Page[DecisionPublic](data=[DecisionPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/decisions/{decision_id}", response_model=DecisionDetail)
async def decision(
    session: SessionDep, decision_id: int = Path(ge=1, le=MAX_ROW_ID, description="a decision's id")
) -> DecisionDetail:
    """One decision in full: inputs (as-of time, data window, news ids), model, prompt hash,
    output, tokens, cost, latency and the final signal."""
    row = await repo.get_decision(session, decision_id=decision_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no decision {decision_id}")
    return DecisionDetail.model_validate(row)


@router.get("/pnl", response_model=Page[PnlPublic])
async def pnl(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit, offset: int = Offset
) -> Page[PnlPublic]:
    """PnL snapshots (one per cycle), newest first."""
    rows = await repo.list_pnl(session, strategy_id=strategy_id, limit=limit, offset=offset)
    return Page[PnlPublic](data=[PnlPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/events", response_model=Page[EventPublic])
async def events(
    session: SessionDep,
    strategy_id: str | None = StrategyFilter,
    kind: str | None = Query(default=None, max_length=64),
    limit: int = Limit,
    offset: int = Offset,
) -> Page[EventPublic]:
    """Risk and audit events (rejections, reconcile mismatches, halts), newest first."""
    rows = await repo.list_events(session, strategy_id=strategy_id, kind=kind, limit=limit, offset=offset)
    return Page[EventPublic](data=[EventPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/markets", response_model=MarketsPublic)
async def markets(
    venues: VenuesDep,
    settings: SettingsDep,
    exchange: str = Query(default="paper", max_length=32, description="paper or a configured venue"),
    limit: int = Query(default=1000, ge=1, le=10_000, description="at most this many (a page)"),
    offset: int = Offset,
) -> MarketsPublic:
    """The symbols one can trade on a venue, by symbol."""
    check_venue(exchange, settings)
    # A venue that is down is a 503: the app's TradingError handler decides.
    found = sorted(await venues.exchange(exchange).markets(), key=lambda m: m.symbol)[offset : offset + limit]
    data = [
        MarketPublic(
            symbol=m.symbol,
            base=m.base,
            quote=m.quote,
            min_qty=m.min_qty,
            qty_step=m.qty_step,
            price_step=m.price_step,
        )
        for m in found
    ]
    return MarketsPublic(exchange=exchange, data=data, count=len(data))
