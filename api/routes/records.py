"""Read-only views of the books: orders, positions, protective exits, decisions, PnL, events, markets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.deps import VIEWER
from api.deps import FreshDep, Offset, SessionDep, SettingsDep, VenuesDep, page_limit
from api.exchanges import check_venue
from api.schemas import (
    DecisionDetail,
    DecisionPublic,
    EventPublic,
    ExitPublic,
    FillPublic,
    MarketPublic,
    MarketsPublic,
    OrderPublic,
    Page,
    PnlPublic,
    PositionPublic,
    page_of,
)
from store import repo

router = APIRouter(tags=["books"], dependencies=[VIEWER])

StrategyFilter = Query(default=None, max_length=64, description="only this strategy")
M = TypeVar("M", bound=BaseModel)


@dataclass
class StrategyPage:
    """The query of every list here: one strategy's rows (or all), one page of them."""

    strategy_id: str | None = StrategyFilter
    limit: int = page_limit(200, 5000)
    offset: int = Offset


PageDep = Annotated[StrategyPage, Depends()]


def _reader(
    model: type[M], list_rows: Callable[..., Awaitable[Sequence[Any]]], session: AsyncSession, **query: Any
) -> Callable[[], Awaitable[Page[M]]]:
    """What reads a page of ``model`` from the store (run unless a fresh enough answer is kept)."""

    async def read() -> Page[M]:
        return page_of(model, await list_rows(session, **query))

    return read


# Row ids are signed 64-bit integers in the store: anything else names no row and is refused.
MAX_ROW_ID = 2**63 - 1


@router.get("/orders", response_model=Page[OrderPublic])
async def orders(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """Orders, newest first."""
    return await fresh(_reader(OrderPublic, repo.list_orders, session, **asdict(page)))


@router.get("/fills", response_model=Page[FillPublic])
async def fills(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """Fills, newest first."""
    return await fresh(
        _reader(
            FillPublic,
            repo.list_fills,
            session,
            strategy_id=page.strategy_id,
            newest=page.limit,
            offset=page.offset,
        )
    )


@router.get("/positions", response_model=Page[PositionPublic])
async def positions(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """Positions per strategy and symbol."""
    return await fresh(_reader(PositionPublic, repo.get_positions, session, **asdict(page)))


@router.get("/exits", response_model=Page[ExitPublic])
async def exits(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """The protective exits that stand now: those resting at the venue and those ASTS holds and
    watches itself (the venue could not hold them), by strategy and symbol."""
    return await fresh(_reader(ExitPublic, repo.standing_exits, session, **asdict(page)))


@router.get("/decisions", response_model=Page[DecisionPublic])
async def decisions(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """Agent decisions with confidence and rationale, newest first."""
    return await fresh(_reader(DecisionPublic, repo.list_decisions, session, **asdict(page)))


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
async def pnl(session: SessionDep, fresh: FreshDep, page: PageDep) -> Response:
    """PnL snapshots (one per cycle), newest first."""
    return await fresh(_reader(PnlPublic, repo.list_pnl, session, **asdict(page)))


@router.get("/events", response_model=Page[EventPublic])
async def events(
    session: SessionDep,
    fresh: FreshDep,
    page: PageDep,
    kind: str | None = Query(default=None, max_length=64),
) -> Response:
    """Risk and audit events (rejections, reconcile mismatches, halts), newest first."""
    return await fresh(_reader(EventPublic, repo.list_events, session, **asdict(page), kind=kind))


@router.get("/markets", response_model=MarketsPublic)
async def markets(
    venues: VenuesDep,
    settings: SettingsDep,
    exchange: str = Query(default="paper", max_length=32, description="paper or a configured venue"),
    limit: int = page_limit(1000, 10_000),
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
