"""The risk step sizes entries with the strategy's sizing, within its cash, and records why an
entry it cannot size leaves no order (real store, real paper venue)."""

from __future__ import annotations

import re
from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.contracts import Decision, RiskInput, RiskResult, StrategyConfig, SymbolSnapshot
from activities.deps import Deps, utcnow
from activities.risk import RiskActivities
from exchanges.paper_margin import PaperMargin
from store import repo
from tests.factories import insert_strategy, make_config
from trading.sizing import EquityFraction, FixedNotional


async def _approve(deps: Deps, cfg: StrategyConfig, *targets: tuple[str, str], cycle: int = 1) -> RiskResult:
    """Run the risk step on one decision per (symbol, target), at the venue's current prices."""
    snaps = []
    for symbol, _ in targets:
        t = await deps.exchange("paper").ticker(symbol)
        snaps.append(SymbolSnapshot(symbol=symbol, ts=t.ts, last=t.last, closes=[t.last]))
    decisions = [Decision(symbol=s, target=tg, confidence=0.9, rationale="test") for s, tg in targets]  # type: ignore[arg-type]
    inp = RiskInput(config=cfg, cycle=cycle, decisions=decisions, snapshots=snaps)
    return await ActivityEnvironment().run(RiskActivities(deps).risk_approve, inp)


async def test_a_long_is_sized_by_the_strategys_size_parameter(deps: Deps) -> None:
    cfg = make_config(params={"fast": 2, "slow": 5, "size": "7"})
    await insert_strategy(deps, cfg)
    (plan,) = (await _approve(deps, cfg, ("MSFT/USD", "long"))).approved
    assert (plan.side, plan.qty) == ("buy", Decimal(7))


async def test_a_configured_sizing_sizes_from_the_capital(deps: Deps) -> None:
    cfg = make_config(capital=Decimal(10_000), sizing=FixedNotional(notional=Decimal(1000)))
    await insert_strategy(deps, cfg)
    price = (await deps.exchange("paper").ticker("MSFT/USD")).last
    (plan,) = (await _approve(deps, cfg, ("MSFT/USD", "long"))).approved
    assert plan.qty == (Decimal(1000) / price).to_integral_value(rounding="ROUND_DOWN")  # whole shares


async def test_entries_of_one_cycle_share_the_strategys_cash(deps: Deps) -> None:
    cfg = make_config(
        symbols=["MSFT/USD", "GOOGL/USD"], capital=Decimal(5000), sizing=EquityFraction(fraction=Decimal(1))
    )
    await insert_strategy(deps, cfg)
    (msft,) = (await _approve(deps, cfg, ("MSFT/USD", "long"), ("GOOGL/USD", "long"))).approved
    assert msft.symbol == "MSFT/USD" and Decimal(5000) - msft.ref_price < msft.qty * msft.ref_price <= 5000
    async with deps.sessions() as s:
        (event,) = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="size_rejected")
    left = Decimal(5000) - msft.qty * msft.ref_price
    assert (event.symbol, event.reason) == (
        "GOOGL/USD",
        f"the cash held ({left.normalize():f}) buys less than one step (1)",
    )


async def test_an_entry_under_the_venue_minimum_records_why(deps: Deps) -> None:
    cfg = make_config(symbols=["EUR/USD"], params={"fast": 2, "slow": 5, "size": "1"})
    await insert_strategy(deps, cfg)
    result = await _approve(deps, cfg, ("EUR/USD", "long"), cycle=3)
    assert result.approved == [] and result.rejected == []
    async with deps.sessions() as s:
        (event,) = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="size_rejected")
    assert event.reason == "under the venue minimum 1000 (sized 1)"
    assert (event.cycle, event.symbol, event.data["target"], event.data["held"]) == (
        3,
        "EUR/USD",
        "long",
        "0",
    )
    assert event.created_at <= utcnow()


async def test_the_book_limits_judge_held_positions_and_the_cycles_earlier_entries(deps: Deps) -> None:
    cfg = make_config(
        symbols=["MSFT/USD", "GOOGL/USD"],
        capital=Decimal(100_000),
        sizing=FixedNotional(notional=Decimal(3000)),
        risk={"max_gross_exposure": "8000", "max_concentration": "0.05"},
    )
    await insert_strategy(deps, cfg)
    venue = deps.exchange("paper")
    spx = (await venue.ticker("SPX/USD")).last  # held, but not traded this cycle: marked at the venue
    held = (Decimal(2500) / spx).quantize(Decimal("0.0001"))
    async with deps.transaction() as s:
        await repo.upsert_position(
            s,
            strategy_id=cfg.strategy_id,
            symbol="SPX/USD",
            qty=held,
            avg_price=Decimal(1),  # what it cost does not matter: exposure is at today's price
            realised_pnl=Decimal(0),
            fees=Decimal(0),
            now=utcnow(),
        )
    result = await _approve(deps, cfg, ("MSFT/USD", "long"), ("GOOGL/USD", "long"))
    (msft,) = result.approved
    assert msft.symbol == "MSFT/USD"
    (refused,) = result.rejected
    # the venue's prices move on between the step's reads and these: the sum agrees to a tick
    gross = held * spx + msft.qty * msft.ref_price + refused.qty * (await venue.ticker("GOOGL/USD")).last
    (reason,) = refused.reasons
    said = re.fullmatch(r"gross exposure ([0-9.]+) after this order would exceed the limit of 8000", reason)
    assert refused.symbol == "GOOGL/USD" and said is not None, reason
    assert Decimal(said[1]) > 8000 and abs(Decimal(said[1]) - gross) < gross / 100
    async with deps.sessions() as s:
        (event,) = await repo.list_events(s, strategy_id=cfg.strategy_id, kind="risk_rejected")
    assert event.symbol == "GOOGL/USD" and event.reason.startswith("gross exposure")


async def test_a_long_short_strategy_sells_short_on_flat_and_a_spot_venue_refuses_it(deps: Deps) -> None:
    cfg = make_config(direction="long_short")
    await insert_strategy(deps, cfg)
    result = await _approve(deps, cfg, ("MSFT/USD", "flat"))
    assert not result.approved  # the paper venue here is a spot account
    (refused,) = result.rejected
    assert (refused.side, refused.qty) == ("sell", Decimal(10))
    assert refused.reasons == ["paper cannot hold short positions (a spot account)"]
    long_only = make_config()
    await insert_strategy(deps, long_only)
    assert not (await _approve(deps, long_only, ("MSFT/USD", "flat"))).approved  # flat: nothing held
    assert not (await _approve(deps, long_only, ("MSFT/USD", "flat"))).rejected


async def test_a_reversal_closes_and_enters_in_one_order_that_says_what_it_closes(deps: Deps) -> None:
    deps.exchange_options = {"margin": PaperMargin()}
    cfg = make_config(direction="long_short")
    await insert_strategy(deps, cfg)
    async with deps.transaction() as s:
        await repo.upsert_position(
            s, strategy_id=cfg.strategy_id, symbol="MSFT/USD", qty=Decimal(4), avg_price=Decimal(100),
            realised_pnl=Decimal(0), fees=Decimal(0), now=utcnow(),
        )  # fmt: skip
    (plan,) = (await _approve(deps, cfg, ("MSFT/USD", "flat"))).approved
    assert (plan.side, plan.qty, plan.closes, plan.clear_exits) == ("sell", Decimal(14), Decimal(4), True)
