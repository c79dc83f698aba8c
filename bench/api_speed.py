"""API speed under a console's load, against a bare FastAPI app serving the same rows, same run.

    python -m bench.api_speed [--requests 3000] [--out BENCHMARKS.md]

The embedded stack (dev server, SQLite store, paper venue) runs one strategy trading while the
real API (``asts api``: uvloop, httptools; one process, or ``--processes``) and a bare FastAPI
app run as processes of their own on 127.0.0.1. The bare app reads the same rows from the same
store with SQLAlchemy and answers them with FastAPI's default serialisation (``jsonable_encoder``
then ``json.dumps``), with no sign-in, no middleware and no role check: the baseline of what the
framework costs. A load generator in a third process holds C keep-alive connections, each
sending its requests one after the other, and times every answer (errors: any status but 200,
or no answer within 10 s). Every loop is bounded by a request count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess  # nosec B404
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import machine_line, percentile, write_section

TIMEOUT_S = 10.0
LEVELS = (10, 50, 1000)
ENDPOINTS = ("/strategies", "/orders", "/positions", "/neurohub")
BARE = ("/strategies", "/orders", "/positions")  # the lists the bare app serves too


# -- the bare app ------------------------------------------------------------------------------
def bare_app(db_url: str) -> Any:
    """FastAPI with the same list queries and the framework's default serialisation."""
    from fastapi import FastAPI
    from sqlalchemy import select

    from store.db import make_engine, make_sessionmaker
    from store.models import OrderRow, PositionRow, StrategyRow

    sessions = make_sessionmaker(make_engine(db_url))
    app = FastAPI()

    def rows_of(model: Any, order: Any) -> Any:
        async def endpoint() -> list[dict[str, Any]]:
            async with sessions() as s:
                rows = (await s.execute(select(model).order_by(*order).limit(200))).scalars().all()
            cols = [c.key for c in model.__table__.columns]
            return [{c: getattr(r, c) for c in cols} for r in rows]

        return endpoint

    app.get("/strategies")(rows_of(StrategyRow, [StrategyRow.created_at]))
    app.get("/orders")(rows_of(OrderRow, [OrderRow.created_at.desc(), OrderRow.id.desc()]))
    app.get("/positions")(rows_of(PositionRow, [PositionRow.strategy_id, PositionRow.symbol]))
    return app


def serve_bare(db_url: str, port: int) -> None:
    """Run the bare app (its own process)."""
    import uvicorn

    uvicorn.run(
        bare_app(db_url), host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="error"
    )


# -- the load generator ------------------------------------------------------------------------
async def _one_connection(
    port: int, request: bytes, count: int, latencies: list[float], errors: list[str]
) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT_S)
    except (OSError, TimeoutError) as e:
        errors.extend([f"connect: {type(e).__name__}"] * count)
        return
    try:
        for _ in range(count):
            started = time.perf_counter()
            try:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await asyncio.wait_for(reader.readexactly(length), TIMEOUT_S)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
                errors.append(type(e).__name__)
                return
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(f"HTTP {status}")
    finally:
        writer.close()


async def load(port: int, path: str, conns: int, requests: int, token: str) -> dict[str, Any]:
    """``requests`` GETs of ``path`` over ``conns`` connections; throughput and latencies."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Accept: application/json\r\n\r\n".encode()
    per = max(1, requests // conns)
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_one_connection(port, request, per, latencies, errors) for _ in range(conns)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 0.5) if latencies else 0.0,
        "p95": percentile(latencies, 0.95) if latencies else 0.0,
        "p99": percentile(latencies, 0.99) if latencies else 0.0,
        "max": max(latencies, default=0.0),
    }


def _measure(port: int, path: str, conns: int, requests: int, token: str) -> dict[str, Any]:
    """One load run in its own process (so it does not share a core's loop with the worker)."""
    cmd = [sys.executable, "-m", "bench.api_speed", "load", str(port), path, str(conns), str(requests)]
    out = subprocess.run(  # noqa: S603  # nosec B603
        cmd, input=token, capture_output=True, text=True, check=True, timeout=600
    )
    return dict(json.loads(out.stdout))


# -- the run -----------------------------------------------------------------------------------
def _spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env)  # noqa: S603  # nosec B603


async def _wait_up(port: int, path: str) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            try:
                if (await http.get(f"http://127.0.0.1:{port}{path}")).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


async def run(
    requests: int, processes: int, levels: tuple[int, ...] = LEVELS
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start the stack, one strategy, the API and the bare app; measure each level."""
    import httpx

    from bench.stack import embedded_stack, start_strategies
    from worker.launcher import DEV_SERVER_DYNAMIC_CONFIG, free_port
    from worker.runtime import ensure_hub, serve_workers

    rows: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}
    async with embedded_stack(DEV_SERVER_DYNAMIC_CONFIG) as stack:
        queue, hub_id = f"bench-api-{uuid.uuid4().hex[:6]}", f"hub-{uuid.uuid4().hex[:6]}"
        async with serve_workers(stack.client, stack.deps, task_queue=queue):
            await ensure_hub(stack.client, hub_id=hub_id, task_queue=queue)
            await start_strategies(
                stack.client, stack.deps, task_queue=queue, n=1, prefix="sapi", hub_id=hub_id, interval_s=0.5
            )
            api_port, direct_port, bare_port = free_port(), free_port(), free_port()
            password = uuid.uuid4().hex
            env = {
                **os.environ,
                "ASTS_DATABASE_URL": stack.db_url,
                "TEMPORAL_ADDRESS": stack.address,
                "ASTS_TASK_QUEUE": queue,
                "ASTS_HUB_ID": hub_id,
                "ASTS_ADMIN_PASSWORD": password,
                "ASTS_FOUR_EYES": "false",
                "ASTS_JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,  # one secret for both APIs
            }
            home = str(stack.deps.home)
            api_cmd = [sys.executable, "-m", "worker.cli", "api", "--home", home, "--port", str(api_port)]
            api_cmd += ["--processes", str(processes)]
            direct_cmd = [*api_cmd[:-4], "--port", str(direct_port), *api_cmd[-2:]]
            bare_cmd = [sys.executable, "-m", "bench.api_speed", "bare", stack.db_url, str(bare_port)]
            procs = [
                _spawn(api_cmd, env),
                _spawn(direct_cmd, env | {"ASTS_READ_CACHE_S": "0"}),  # every read from the store
                _spawn(bare_cmd, env),
            ]
            try:
                await _wait_up(api_port, "/health")
                await _wait_up(direct_port, "/health")
                await _wait_up(bare_port, "/orders")
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as http:
                    r = await http.post("/auth/token", data={"username": "admin", "password": password})
                    r.raise_for_status()
                    token = r.json()["access_token"]
                    await asyncio.sleep(15)  # let the strategy trade: orders, fills, positions
                    orders = (await http.get("/orders", headers={"Authorization": f"Bearer {token}"})).json()
                    facts["orders"] = orders["count"]
                for level in levels:
                    for path in ENDPOINTS:
                        ours = await asyncio.to_thread(_measure, api_port, path, level, requests, token)
                        row = {"path": path, "conns": level, "ours": ours}
                        if path != "/neurohub":
                            row["direct"] = await asyncio.to_thread(
                                _measure, direct_port, path, level, requests, token
                            )
                        if path in BARE:
                            row["bare"] = await asyncio.to_thread(
                                _measure, bare_port, path, level, requests, ""
                            )
                        rows.append(row)
                        print(path, level, ours, row.get("direct"), row.get("bare"), flush=True)
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(timeout=30)
    return rows, facts


def _fmt(m: dict[str, Any]) -> str:
    latency = f"p50 {m['p50']:.1f} ms, p95 {m['p95']:.1f} ms, p99 {m['p99']:.1f} ms"
    return f"{m['rps']:,.0f}/s, {latency}, errors {m['errors']}"


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    return f"{a['rps'] / b['rps']:.2f}" if a and b and b["rps"] else "—"


def report(rows: list[dict[str, Any]], facts: dict[str, Any], requests: int, processes: int) -> str:
    """The BENCHMARKS.md section."""
    lines = [
        machine_line(datetime.now(UTC)),
        "",
        f"One strategy trading on the embedded stack ({facts.get('orders', 0)} orders on the books "
        f"when measured); the API as `asts api --processes {processes}` (uvloop, httptools), signed in "
        "with a bearer token (every request verifies it and reads its session); the bare app: FastAPI "
        'with the same queries, default serialisation, no auth, same uvicorn options. "ASTS API" '
        "keeps a list answer up to `ASTS_READ_CACHE_S` (0.25 s) for the same path and query; "
        '"every read from the store" is the same API with it at 0. '
        f"{requests} requests per row over keep-alive connections; an error is any status but 200 or "
        f"no answer within {TIMEOUT_S:.0f} s.",
        "",
        "| endpoint | connections | ASTS API | ASTS, every read from the store | bare FastAPI | "
        "ASTS / bare | every read / bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        bare, direct = r.get("bare"), r.get("direct")
        cells = [_fmt(r["ours"]), _fmt(direct) if direct else "—", _fmt(bare) if bare else "—"]
        cells += [_ratio(r["ours"], bare), _ratio(direct, bare)]
        lines.append(f"| {r['path']} | {r['conns']} | " + " | ".join(cells) + " |")
    at50 = [r for r in rows if r["conns"] == 50]
    worst95 = max(r["ours"]["p95"] for r in at50) if at50 else 0.0
    at1000 = [r for r in rows if r["conns"] == 1000]
    errors1000 = sum(r["ours"]["errors"] for r in at1000)
    lines += [
        "",
        f"Goals: p95 under 100 ms at 50 connections: worst {worst95:.1f} ms "
        f"({'met' if worst95 < 100 else 'NOT met'}); 1000 connections with no error or timeout: "
        f"{errors1000} errors ({'met' if errors1000 == 0 else 'NOT met'}).",
    ]
    return "\n".join(lines)


def main() -> None:
    """Entry point (also the helper processes: ``bare`` and ``load``)."""
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        serve_bare(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        import uvloop

        port, path, conns, requests = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        token = sys.stdin.read().strip()
        print(json.dumps(uvloop.run(load(port, path, conns, requests, token))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="connection counts")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    levels = tuple(int(x) for x in args.levels.split(","))
    rows, facts = asyncio.run(run(args.requests, args.processes, levels))
    body = report(rows, facts, args.requests, args.processes)
    print(write_section(args.out, f"API speed (--processes {args.processes})", body))


if __name__ == "__main__":
    main()
