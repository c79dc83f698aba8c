"""What must hold between our books and the venues, whatever failed: checked after every fault.

- **No duplicate**: no client order id twice at a venue (ids are derived from strategy, cycle and
  leg, so one id twice would be one decision placed twice).
- **Books = venue**: every order the venue has is in the books with the same filled quantity and
  open/closed state, and every order the books say was placed is at the venue. An order in flight
  disagrees for a moment; what counts is a disagreement about one order that outlasts
  ``settle_s`` (``Settling``).
- **Positions = balances**: per venue and asset, the sum of the strategies' positions equals the
  venue's balance less what it held at the start (sampled until one sample agrees: a fill between
  reading the venue and reading the books is not a difference).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchanges.base import Exchange
from exchanges.emulator import BinanceEmulator
from store import repo

OPEN_STATES = frozenset({"new", "open", "triggered", "partially_filled"})


@dataclass(frozen=True)
class OrderState:
    """What one side says about an order."""

    filled: Decimal
    open: bool


@dataclass
class VenueView:
    """One venue's orders (by client order id) and total balances, read at one moment."""

    orders: dict[str, OrderState]
    duplicates: list[str]
    balances: dict[str, Decimal]


VenueReader = Callable[[], Awaitable[VenueView]]


def paper_reader(venue: Exchange) -> VenueReader:
    """Read the paper venue (its state file, shared with the workers)."""

    async def read() -> VenueView:
        orders = await venue.orders()
        ids = Counter(o.client_order_id for o in orders)
        return VenueView(
            orders={o.client_order_id: OrderState(o.filled_qty, not o.status.is_terminal) for o in orders},
            duplicates=sorted(i for i, n in ids.items() if n > 1),
            balances=dict(await venue.balance()),
        )

    return read


def emulator_reader(emu: BinanceEmulator) -> VenueReader:
    """Read the Binance emulator's own state (in this process: no request, no fault on the way)."""

    async def read() -> VenueView:
        orders = emu.orders()
        ids = Counter(str(o["clientOrderId"]) for o in orders)
        return VenueView(
            orders={
                str(o["clientOrderId"]): OrderState(
                    Decimal(str(o["executedQty"])), o["status"] in ("NEW", "PARTIALLY_FILLED")
                )
                for o in orders
            },
            duplicates=sorted(i for i, n in ids.items() if n > 1),
            balances={a: free + locked for a, (free, locked) in emu.balances().items()},
        )

    return read


@dataclass
class Books:
    """Our side, per venue: placed orders' states and positions summed per base asset."""

    orders: dict[str, OrderState]
    positions: dict[str, Decimal]


async def read_books(sessions: async_sessionmaker[AsyncSession], venue: str) -> Books:
    """The books of every strategy trading on ``venue``."""
    async with sessions() as s:
        strategies = {r.id for r in await repo.list_strategies(s, limit=100_000) if r.exchange == venue}
        orders = [o for o in await repo.list_orders(s, limit=1_000_000) if o.strategy_id in strategies]
        positions = [p for p in await repo.get_positions(s) if p.strategy_id in strategies]
    by_base: defaultdict[str, Decimal] = defaultdict(Decimal)
    for p in positions:
        by_base[p.symbol.split("/")[0]] += p.qty
    return Books(
        orders={
            o.client_order_id: OrderState(o.filled_qty, o.status in OPEN_STATES)
            for o in orders
            if o.venue_order_id
        },
        positions=dict(by_base),
    )


def order_differences(books: Books, view: VenueView) -> dict[str, str]:
    """Each order the two sides disagree on, with how."""
    out: dict[str, str] = {}
    for cid, theirs in view.orders.items():
        ours = books.orders.get(cid)
        if ours is None:
            out[cid] = f"at the venue (filled {theirs.filled}) but not booked as placed"
        elif ours != theirs:
            out[cid] = (
                f"booked filled {ours.filled} open={ours.open}, "
                f"venue filled {theirs.filled} open={theirs.open}"
            )
    for cid in books.orders.keys() - view.orders.keys():
        out[cid] = "booked as placed but unknown to the venue"
    return out


def position_differences(
    books: Books, view: VenueView, start: dict[str, Decimal], assets: Iterable[str]
) -> dict[str, str]:
    """Each base asset whose booked position is not the venue's change of balance since ``start``."""
    out: dict[str, str] = {}
    for asset in assets:
        venue_change = view.balances.get(asset, Decimal(0)) - start.get(asset, Decimal(0))
        ours = books.positions.get(asset, Decimal(0))
        if venue_change != ours:
            out[asset] = f"books {ours}, venue {venue_change}"
    return out


@dataclass
class Settling:
    """Disagreements about one order, kept only while they outlast ``settle_s``."""

    settle_s: float
    first_seen: dict[str, float] = field(default_factory=dict)

    def update(self, differences: dict[str, str], now: float | None = None) -> dict[str, str]:
        """Record the differences seen now; return those first seen more than ``settle_s`` ago."""
        at = time.monotonic() if now is None else now
        self.first_seen = {k: self.first_seen.get(k, at) for k in differences}
        return {k: v for k, v in differences.items() if at - self.first_seen[k] > self.settle_s}


@dataclass
class Violation:
    """An invariant that did not hold."""

    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


async def check_venue(
    name: str,
    read_venue: VenueReader,
    sessions: async_sessionmaker[AsyncSession],
    start: dict[str, Decimal],
    assets: Iterable[str],
    *,
    settle_s: float,
    poll_s: float = 0.25,
) -> list[Violation]:
    """Check one venue against the books, sampling for up to twice ``settle_s``: a duplicate fails
    at once, a disagreement about one order once it outlasts ``settle_s``, the positions unless
    one sample agreed."""
    assets = list(assets)
    settling = Settling(settle_s)
    deadline = time.monotonic() + 2 * settle_s
    positions_agreed = False
    while True:
        view = await read_venue()
        books = await read_books(sessions, name)
        if view.duplicates:
            return [Violation(f"{name}: duplicate order", cid) for cid in view.duplicates]
        differences = order_differences(books, view)
        lasting = settling.update(differences)
        if lasting:
            return [Violation(f"{name}: order {cid}", why) for cid, why in lasting.items()]
        positions = position_differences(books, view, start, assets)
        positions_agreed = positions_agreed or not positions
        if positions_agreed and not differences:
            return []
        if time.monotonic() > deadline:
            if positions_agreed:
                return []  # every order that disagreed settled within settle_s
            return [Violation(f"{name}: position {asset}", why) for asset, why in positions.items()]
        await asyncio.sleep(poll_s)
