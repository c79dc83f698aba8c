"""MarketDataWorkflow: bring stored OHLCV series up to date, a few at once; one failing fails no other."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.marketdata_contracts import (
        BackfillInput,
        BackfillResult,
        MarketDataInput,
        MarketDataResult,
    )
    from workflows import options
    from workflows.steps import failure_reason


@workflow.defn
class MarketDataWorkflow:
    """One pass over the configured series (run by the ``marketdata`` schedule, or by hand)."""

    @workflow.run
    async def run(self, inp: MarketDataInput) -> MarketDataResult:
        """Run ``backfill_candles`` for every series, ``concurrency`` at a time; report each one."""
        slots = asyncio.Semaphore(inp.concurrency)
        results = list(await asyncio.gather(*(self._one(series, slots) for series in inp.series)))
        for r in results:
            if r.failed:
                workflow.logger.warning(
                    "backfill failed",
                    extra={"exchange": r.exchange, "symbol": r.symbol, "reason": r.errors[:1]},
                )
            elif r.gap_count:
                workflow.logger.warning(
                    "stored series has gaps",
                    extra={
                        "exchange": r.exchange,
                        "symbol": r.symbol,
                        "timeframe": r.timeframe,
                        "gaps": r.gap_count,
                        "missing": r.missing,
                    },
                )
        return MarketDataResult(
            series=results,
            new=sum(r.new for r in results),
            gap_count=sum(r.gap_count for r in results),
            failed=sum(1 for r in results if r.failed),
        )

    async def _one(self, series: BackfillInput, slots: asyncio.Semaphore) -> BackfillResult:
        async with slots:
            try:
                return await workflow.execute_activity(
                    "backfill_candles",
                    series,
                    result_type=BackfillResult,
                    start_to_close_timeout=options.BACKFILL_TIMEOUT,
                    heartbeat_timeout=options.BACKFILL_HEARTBEAT,
                    retry_policy=options.BACKFILL_RETRY,
                )
            except ActivityError as e:
                return BackfillResult(
                    exchange=series.exchange,
                    symbol=series.symbol,
                    timeframe=series.timeframe,
                    errors=[failure_reason(e)],
                    failed=True,
                )
