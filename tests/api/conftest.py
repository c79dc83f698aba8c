"""The real app served over real HTTP, with a real worker, store and paper venue.

One server per test module (not per test): starting the app, migrating the store and
starting a worker for each of the many small validation cases would cost more than the
cases themselves. Tests therefore compare counts before and after, never absolute ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.api.live import serve_api


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Base URL of the running API (and its worker on the same task queue)."""
    async with serve_api(dev_env, tmp_path_factory.mktemp("api")) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the running API."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client
