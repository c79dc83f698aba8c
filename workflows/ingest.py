"""IngestWorkflow: DataSpider's run. Every feed is ingested in parallel; one failing feed fails no other."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ingest_contracts import FeedResult, FeedSource, IngestInput, IngestResult
    from workflows import options
    from workflows.steps import STEP_FAILED, failure_reason, run_step


@workflow.defn
class IngestWorkflow:
    """One ingestion pass over the configured feeds (run by the ``dataspider`` schedule, or by hand)."""

    @workflow.run
    async def run(self, inp: IngestInput) -> IngestResult:
        """Run ``ingest_feed`` for every feed at once; report each feed's counts or why it failed."""
        results = list(await asyncio.gather(*(self._one(feed) for feed in inp.feeds)))
        failed = [r for r in results if r.failed]
        for r in failed:
            workflow.logger.warning("feed failed", extra={"feed": r.source, "reason": r.errors[:1]})
        return IngestResult(
            feeds=results,
            new=sum(r.new for r in results),
            duplicates=sum(r.duplicates for r in results),
            failed=len(failed),
        )

    async def _one(self, feed: FeedSource) -> FeedResult:
        try:
            return await run_step(
                "ingest_feed",
                feed,
                result_type=FeedResult,
                mode="activity",
                timeout=options.INGEST_TIMEOUT,
                retry=options.INGEST_RETRY,
            )
        except STEP_FAILED as e:
            return FeedResult(source=feed.name, errors=[failure_reason(e)], failed=True)
