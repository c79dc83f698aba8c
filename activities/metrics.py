"""Prometheus metrics of the trading activities (served by `asts worker --metrics-port`)."""

from __future__ import annotations

from prometheus_client import Counter

ORDERS = Counter("asts_orders_total", "Orders by outcome of their placement", ["outcome"])
RISK_REJECTIONS = Counter("asts_risk_rejections_total", "Orders refused by the pre-trade risk step")
MISMATCHES = Counter("asts_reconcile_mismatches_total", "Differences found between the venue and our books")
DECISIONS = Counter("asts_decisions_total", "Agent decisions by target", ["target"])
