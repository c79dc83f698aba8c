"""What the topology and chaos tests share: they need PostgreSQL's server tools (a private cluster)."""

from __future__ import annotations

import os

import pytest

from bench.topology import TopologyError, _pg_bindir


def _have_tools() -> bool:
    try:
        _pg_bindir()
    except TopologyError:
        return False
    return True


# Under CI the tools are installed (.ci/run): a missing one fails there instead of skipping.
needs_postgres_tools = pytest.mark.skipif(
    not _have_tools() and os.environ.get("CI", "").strip().lower() in ("", "0", "false", "no"),
    reason="PostgreSQL's server tools (initdb, pg_ctl) are not installed",
)
