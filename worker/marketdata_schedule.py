"""The ``marketdata`` schedule: MarketDataWorkflow on the configured series, every so often."""

from __future__ import annotations

from temporalio.client import Client, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.marketdata_contracts import BackfillInput, MarketDataInput
from worker.schedules import ensure_schedule, interval_schedule
from worker.settings import Settings
from workflows.marketdata import MarketDataWorkflow
from workflows.options import MARKETDATA_RUN_TIMEOUT, MARKETDATA_SCHEDULE_ID


def marketdata_input(settings: Settings) -> MarketDataInput:
    """The series of the settings, validated (a bad ``ASTS_MARKET_DATA`` fails at start)."""
    return MarketDataInput(series=[BackfillInput.model_validate(s) for s in settings.market_data])


async def ensure_marketdata_schedule(
    client: Client, settings: Settings, *, schedule_id: str = MARKETDATA_SCHEDULE_ID
) -> ScheduleHandle | None:
    """Create the market-data schedule, bring an existing one up to these settings, or delete it.

    With series configured it starts MarketDataWorkflow on the main task queue every
    ``market_data_interval_s``, skipping a tick while a run is still going; creating it triggers
    one run at once, and an update keeps a paused schedule paused (as DataSpider's does). With
    none configured there is no schedule: an existing one is deleted and None is returned.
    """
    inp = marketdata_input(settings)
    handle = client.get_schedule_handle(schedule_id)
    if not inp.series:
        try:
            await handle.delete()
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    schedule = interval_schedule(
        MarketDataWorkflow.run,
        inp,
        schedule_id=schedule_id,
        task_queue=settings.task_queue,
        execution_timeout=MARKETDATA_RUN_TIMEOUT,
        every_s=settings.market_data_interval_s,
    )
    return await ensure_schedule(client, schedule_id, schedule)
