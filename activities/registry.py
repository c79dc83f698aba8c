"""Every activity of the worker, bound to one set of dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.analysis import AnalysisActivities
from activities.approvals import ApprovalActivities
from activities.control import ControlActivities
from activities.deps import Deps
from activities.exits import ExitActivities
from activities.ingest import IngestActivities
from activities.market import MarketActivities
from activities.marketdata import MarketDataActivities
from activities.notify import NotifyActivities
from activities.opticore import OptiCoreActivities
from activities.orders import OrderActivities
from activities.reconcile import ReconcileActivities
from activities.risk import RiskActivities
from activities.status import StatusActivities


def build_activities(deps: Deps) -> list[Callable[..., Any]]:
    """The activity callables to register on a worker."""
    market, analysis, risk = MarketActivities(deps), AnalysisActivities(deps), RiskActivities(deps)
    orders, rec, status = OrderActivities(deps), ReconcileActivities(deps), StatusActivities(deps)
    control, approvals = ControlActivities(deps), ApprovalActivities(deps)
    opti = OptiCoreActivities(deps)
    ingest = IngestActivities(deps)
    marketdata = MarketDataActivities(deps)
    exits = ExitActivities(deps, orders)
    notify = NotifyActivities(deps, deps.notify_channels)
    return [
        market.scan,
        analysis.analyse,
        analysis.analyze_once,
        risk.risk_approve,
        risk.recheck_order,
        orders.place_order,
        orders.sync_order,
        orders.cancel_order,
        exits.protect,
        exits.clear_exits,
        exits.watch_exits,
        rec.reconcile,
        rec.reconcile_venue,
        status.set_strategy_status,
        status.count_cycle_failure,
        control.hub_load,
        control.set_hub_gate,
        control.control_actions,
        control.notify_strategies,
        control.cancel_open_orders,
        control.signal_workflow,
        approvals.request_approval,
        approvals.settle_approval,
        opti.run_backtest,
        opti.fail_backtest,
        opti.plan_optimization,
        opti.evaluate_chunk,
        opti.search_optimization,
        opti.walk_forward_window,
        opti.record_optimization,
        ingest.ingest_feed,
        marketdata.backfill_candles,
        marketdata.data_status,
        notify.deliver_notifications,
    ]
