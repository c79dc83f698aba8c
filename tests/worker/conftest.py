"""The real API (with its worker) for the CLI tests; see tests/api/live.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.api.live import serve_api


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Base URL of the running API, served from this test session's event loop."""
    async with serve_api(dev_env, tmp_path_factory.mktemp("cli-api")) as url:
        yield url
