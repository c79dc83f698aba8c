"""Read-only views of the books: orders, positions, decisions, PnL, events, markets."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status

from api.auth.deps import VIEWER
from api.deps import SessionDep, VenuesDep
from api.schemas import (
    DecisionDetail,
    DecisionPublic,
    EventPublic,
    MarketPublic,
    MarketsPublic,
    OrderPublic,
    Page,
    PnlPublic,
    PositionPublic,
)
from store import repo
from trading.errors import TradingError

router = APIRouter(tags=["books"], dependencies=[VIEWER])

StrategyFilter = Query(default=None, max_length=64, description="only this strategy")
Limit = Query(default=200, ge=1, le=5000)


@router.get("/orders", response_model=Page[OrderPublic])
async def orders(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit
) -> Page[OrderPublic]:
    """Orders, newest first."""
    rows = await repo.list_orders(session, strategy_id=strategy_id, limit=limit)
    return Page[OrderPublic](data=[OrderPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/positions", response_model=Page[PositionPublic])
async def positions(session: SessionDep, strategy_id: str | None = StrategyFilter) -> Page[PositionPublic]:
    """Positions per strategy and symbol."""
    rows = await repo.get_positions(session, strategy_id=strategy_id)
    return Page[PositionPublic](data=[PositionPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/decisions", response_model=Page[DecisionPublic])
async def decisions(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit
) -> Page[DecisionPublic]:
    """Agent decisions with confidence and rationale, newest first."""
    rows = await repo.list_decisions(session, strategy_id=strategy_id, limit=limit)
    return Page[DecisionPublic](data=[DecisionPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/decisions/{decision_id}", response_model=DecisionDetail)
async def decision(decision_id: int, session: SessionDep) -> DecisionDetail:
    """One decision in full: inputs (as-of time, data window, news ids), model, prompt hash,
    output, tokens, cost, latency and the final signal."""
    row = await repo.get_decision(session, decision_id=decision_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no decision {decision_id}")
    return DecisionDetail.model_validate(row)


@router.get("/pnl", response_model=Page[PnlPublic])
async def pnl(
    session: SessionDep, strategy_id: str | None = StrategyFilter, limit: int = Limit
) -> Page[PnlPublic]:
    """PnL snapshots (one per cycle), newest first."""
    rows = await repo.list_pnl(session, strategy_id=strategy_id, limit=limit)
    return Page[PnlPublic](data=[PnlPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/events", response_model=Page[EventPublic])
async def events(
    session: SessionDep,
    strategy_id: str | None = StrategyFilter,
    kind: str | None = Query(default=None, max_length=64),
    limit: int = Limit,
) -> Page[EventPublic]:
    """Risk and audit events (rejections, reconcile mismatches, halts), newest first."""
    rows = await repo.list_events(session, strategy_id=strategy_id, kind=kind, limit=limit)
    return Page[EventPublic](data=[EventPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/markets", response_model=MarketsPublic)
async def markets(venues: VenuesDep, exchange: str = Query(default="paper", max_length=32)) -> MarketsPublic:
    """The symbols one can trade on a venue."""
    try:
        found = await venues.exchange(exchange).markets()
    except TradingError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(e)) from None
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
