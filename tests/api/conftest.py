"""The real app served over real HTTP, with a real worker, store and paper venue.

The ``api_url`` fixture (shared with the CLI tests) lives in tests/conftest.py.
One server per test module (not per test): starting the app, migrating the store and
starting a worker for each of the many small validation cases would cost more than the
cases themselves. Tests therefore compare counts before and after, never absolute ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.api.live import api_client


@pytest_asyncio.fixture(loop_scope="session")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the running API, signed in as admin."""
    async with api_client(api_url) as client:
        yield client
