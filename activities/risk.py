"""The risk-approve step (TradeGuard): turn decisions into orders and check each pre-trade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.contracts import (
    OrderPlan,
    RecheckInput,
    RecheckResult,
    RiskInput,
    RiskRejection,
    RiskResult,
    StrategyConfig,
    SymbolSnapshot,
)
from activities.deps import Deps, translate_errors, utcnow
from activities.metrics import GATE_REASON, NO_SHORTS_REASON, RISK_REJECTIONS
from activities.strategy_code import strategy_type
from exchanges.base import Exchange
from store import repo
from trading.control import Gate, admit
from trading.exits import stands_down
from trading.models import ClientOrderId, Side, Target, wanted
from trading.portfolio import Position
from trading.risk import OrderIntent, RiskContext, RiskLimits, check_order
from trading.sizing import free_cash, order_for_target, strategy_sizing


async def risk_context(
    s: AsyncSession, *, strategy_id: str, capital: Decimal, now: datetime
) -> tuple[RiskContext, dict[str, Decimal], Gate, Decimal]:
    """The strategy's PnL state as the risk rules see it, its positions by symbol, its gate, and
    its cash (what an entry may spend)."""
    row = await repo.get_strategy(s, strategy_id=strategy_id)
    halted = row is None or row.status != "running"
    gate = repo.strategy_gate_of(row) if row is not None else Gate(state="stopped")
    rows = await repo.get_positions(s, strategy_id=strategy_id)
    positions = {p.symbol: p.qty for p in rows}
    cash = free_cash(capital, (Position(p.symbol, p.qty, p.avg_price, p.realised_pnl, p.fees) for p in rows))
    latest = await repo.latest_pnl(s, strategy_id=strategy_id)
    net = (latest.realised + latest.unrealised - latest.fees) if latest else Decimal(0)
    equity = capital + net
    peak = max(await repo.peak_equity(s, strategy_id=strategy_id) or capital, capital, equity)
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    base = await repo.daily_pnl_base(s, strategy_id=strategy_id, since=midnight)
    base_net = (base.realised + base.unrealised - base.fees) if base else Decimal(0)
    ctx = RiskContext(
        position_qty=Decimal(0), daily_pnl=net - base_net, equity=equity, peak_equity=peak, halted=halted
    )
    return ctx, positions, gate, cash


async def _exposures(
    ex: Exchange, positions: Mapping[str, Decimal], last: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Each held symbol's absolute notional at this cycle's price (at the venue's last trade for a
    symbol this cycle did not read)."""
    out: dict[str, Decimal] = {}
    for symbol, qty in positions.items():
        if qty:
            price = last[symbol] if symbol in last else (await ex.ticker(symbol)).last
            out[symbol] = abs(qty) * price
    return out


def order_legs(cfg: StrategyConfig, snapshots: list[SymbolSnapshot]) -> dict[str, int]:
    """Each symbol's leg in a cycle (part of its client order ids): its place in the strategy's
    symbols, or, for a strategy scanning a universe, in this cycle's scan (recorded in history)."""
    names = cfg.symbols if cfg.universe is None else [snap.symbol for snap in snapshots]
    return {sym: i for i, sym in enumerate(names)}


async def _record_refusal(
    s: AsyncSession,
    *,
    key: str,
    strategy_id: str,
    cycle: int,
    intent: OrderIntent,
    reason: str,
    now: datetime,
    why: list[str],
) -> None:
    """Count an order the risk limits refuse (once per reason in ``why``: rule names, or the gate)
    and record it as a ``risk_rejected`` event."""
    for name in why:
        RISK_REJECTIONS.labels(name).inc()
    await repo.record_event(
        s,
        event_key=key,
        kind="risk_rejected",
        reason=reason,
        now=now,
        strategy_id=strategy_id,
        cycle=cycle,
        symbol=intent.symbol,
        data={"side": intent.side.value, "qty": str(intent.qty), "price": str(intent.price)},
    )


class RiskActivities:
    """Pre-trade risk activities."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name="recheck_order")
    @translate_errors
    async def recheck_order(self, inp: RecheckInput) -> RecheckResult:
        """Judge an order a human approved after a wait against the risk limits again, with the
        book and the prices as they stand now (both may have moved while it waited): the reasons it
        breaks them now, none if it may go. The approval does not lift a limit."""
        cfg, plan = inp.config, inp.plan
        limits = RiskLimits.from_mapping(cfg.risk)
        ex = self.deps.exchange(cfg.exchange)
        price = (await ex.ticker(plan.symbol)).last
        async with self.deps.sessions() as s:
            base, positions, _, _ = await risk_context(
                s, strategy_id=cfg.strategy_id, capital=cfg.capital, now=utcnow()
            )
        exposures = await _exposures(ex, positions, {plan.symbol: price}) if limits.judges_exposure else {}
        intent = OrderIntent(symbol=plan.symbol, side=Side(plan.side), qty=plan.qty, price=price)
        ctx = replace(base, position_qty=positions.get(plan.symbol, Decimal(0)), exposures=exposures)
        verdict = check_order(intent, ctx, limits)
        reasons = list(verdict.reasons)
        if reasons:
            async with self.deps.transaction() as s:
                await _record_refusal(
                    s,
                    key=f"recheck-{plan.client_order_id}",
                    strategy_id=cfg.strategy_id,
                    cycle=inp.cycle,
                    intent=intent,
                    reason="approved, but now: " + "; ".join(reasons),
                    now=utcnow(),
                    why=list(verdict.rules),
                )
        return RecheckResult(reasons=reasons)

    @activity.defn(name="risk_approve")
    @translate_errors
    async def risk_approve(self, inp: RiskInput) -> RiskResult:
        """Size an order per decision, check it against the limits, record every rejection (and
        every entry the venue's size rules or the cash leave no order for)."""
        cfg = inp.config
        kind = await strategy_type(self.deps, cfg.type, cfg.code_version)  # the version it runs
        sizing = strategy_sizing(kind.size_of(cfg.params), cfg.sizing)
        limits = RiskLimits.from_mapping(cfg.risk)
        ex = self.deps.exchange(cfg.exchange)
        last = {snap.symbol: snap.last for snap in inp.snapshots}
        legs = order_legs(cfg, inp.snapshots)
        now = utcnow()
        approved: list[OrderPlan] = []
        rejected: list[RiskRejection] = []
        async with self.deps.transaction() as s:
            base_ctx, positions, strategy_gate, cash = await risk_context(
                s, strategy_id=cfg.strategy_id, capital=cfg.capital, now=now
            )
            unfinished = await repo.unfinished_orders(s, strategy_id=cfg.strategy_id, exits=False)
            pending = {o.symbol for o in unfinished}
            hub_gate = repo.hub_gate_of(await repo.get_hub_gate(s, hub_id=cfg.hub_id))
            exposures = await _exposures(ex, positions, last) if limits.judges_exposure else {}
            downs = await repo.stood_down(s, strategy_id=cfg.strategy_id)
            for d in inp.decisions:
                leg = legs[d.symbol]
                if d.symbol in pending:  # an earlier order may still fill: size nothing on top of it
                    continue
                held = positions.get(d.symbol, Decimal(0))
                target = wanted(Target(d.target), cfg.direction)
                if d.symbol in downs:  # a protective exit closed it (see trading.exits.stands_down)
                    refused_entry, keep = stands_down(downs[d.symbol], target)
                    if keep != downs[d.symbol]:
                        await repo.set_stood_down(
                            s, strategy_id=cfg.strategy_id, symbol=d.symbol, direction=keep
                        )
                    if refused_entry and held == 0:
                        continue
                market = await ex.market(d.symbol)
                price = last[d.symbol]
                sized = order_for_target(
                    target,
                    held,
                    sizing,
                    market,
                    equity=base_ctx.equity,
                    cash=cash,
                    price=price,
                    fraction=d.size,
                )
                if sized.qty <= 0:
                    if sized.reason:  # an entry was wanted: say why there is no order
                        await repo.record_event(
                            s,
                            event_key=f"size-{cfg.strategy_id}-{inp.cycle}-{leg}",
                            kind="size_rejected",
                            reason=sized.reason,
                            now=now,
                            strategy_id=cfg.strategy_id,
                            cycle=inp.cycle,
                            symbol=d.symbol,
                            data={"target": d.target, "held": str(held), "price": str(price)},
                        )
                    continue
                side, qty = sized.side, sized.qty
                intent = OrderIntent(symbol=d.symbol, side=side, qty=qty, price=last[d.symbol])
                ctx = replace(base_ctx, position_qty=held, exposures=exposures)
                verdict = check_order(intent, ctx, limits)
                # The gates are checked again when the order is placed; here they spare a doomed order.
                refused = admit(hub=hub_gate, strategy=strategy_gate, side=side, qty=qty, position_qty=held)
                why = list(verdict.rules) + ([GATE_REASON] if refused else [])
                if refused is None and held + side.sign * qty < 0 and not ex.capabilities.shorts:
                    refused = f"{cfg.exchange} cannot hold short positions (a spot account)"
                    why.append(NO_SHORTS_REASON)
                if not verdict.approved or refused:
                    reasons = list(verdict.reasons) + ([refused] if refused else [])
                    rejected.append(RiskRejection(symbol=d.symbol, side=side.value, qty=qty, reasons=reasons))
                    await _record_refusal(
                        s,
                        key=f"risk-{cfg.strategy_id}-{inp.cycle}-{leg}",
                        strategy_id=cfg.strategy_id,
                        cycle=inp.cycle,
                        intent=intent,
                        reason="; ".join(reasons),
                        now=now,
                        why=why,
                    )
                    continue
                # What it spends, or the short it opens, is not there for the next symbol's entry.
                if side is Side.BUY:
                    cash -= qty * price
                elif qty > held:
                    cash -= (qty - max(held, Decimal(0))) * price
                if limits.judges_exposure:  # the next symbol is judged with this order in
                    exposures[d.symbol] = abs(held + side.sign * qty) * price
                approved.append(
                    OrderPlan(
                        strategy_id=cfg.strategy_id,
                        exchange=cfg.exchange,
                        cycle=inp.cycle,
                        leg=leg,
                        client_order_id=ClientOrderId.derive(cfg.strategy_id, inp.cycle, leg).value,
                        symbol=d.symbol,
                        side=side.value,
                        qty=qty,
                        ref_price=last[d.symbol],
                        time_in_force_s=cfg.order_time_in_force_s,
                        step_mode=cfg.step_mode,
                        hub_id=cfg.hub_id,
                        # it closes or shrinks the position: its exits must not fire on top of it
                        clear_exits=held * side.sign < 0,
                        closes=abs(held) if held * side.sign < 0 and qty > abs(held) else Decimal(0),
                    )
                )
        return RiskResult(approved=approved, rejected=rejected)
