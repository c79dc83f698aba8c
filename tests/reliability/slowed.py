"""Activities whose order placement is slowed, so halts can land while placements are on their way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.contracts import OrderOutcome, OrderPlan
from activities.deps import Deps
from activities.orders import OrderActivities
from activities.registry import build_activities


def slowed_placement(deps: Deps, delay_s: float) -> tuple[list[Callable[..., Any]], set[str]]:
    """Every activity, with ``place_order`` waiting ``delay_s`` before the real one runs.

    Returns the activities and the live set of client order ids whose placement is waiting.
    """
    real = OrderActivities(deps).place_order
    waiting: set[str] = set()

    @activity.defn(name="place_order")
    async def slow_place_order(plan: OrderPlan) -> OrderOutcome:
        waiting.add(plan.client_order_id)
        try:
            await asyncio.sleep(delay_s)
            return await real(plan)
        finally:
            waiting.discard(plan.client_order_id)

    acts = [a for a in build_activities(deps) if a.__name__ != "place_order"] + [slow_place_order]
    return acts, waiting
