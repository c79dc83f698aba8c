"""A strategy on ``exchange: "binance"`` by configuration alone: `asts emulator binance` in one process,
`asts up` in another with ASTS_EXCHANGES and the keys in its environment, the real ccxt client
between them. Our books must equal the venue's, and the keys must be in no workflow history."""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal
from pathlib import Path

import httpx
from temporalio.client import Client

from tests.encryption import plain_history
from tests.procs import free_port, kill_group, poll, signed_in_client, spawn, wait_http
from worker.codec import EncryptionCodec, read_key_file

KEY, SECRET = "e2e-key-4f9a1c", "e2e-secret-b7d20e"


async def _histories_text(address: str, sid: str, home: Path) -> str:
    """Every event of the strategy's workflow and its cycles, as text, payloads decrypted with the
    stack's key (so the check is on what the workflows carry, not only on what the server sees)."""
    codec = EncryptionCodec(read_key_file(home / "codec-keys.json"))
    client = await Client.connect(address)
    text = []
    query = f'WorkflowId = "strategy-{sid}" OR WorkflowId STARTS_WITH "cycle-{sid}-"'
    async for wf in client.list_workflows(query):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        text.append(json.dumps(plain_history(history, codec).to_json_dict()))
    return "\n".join(text)


def test_a_strategy_trades_on_binance_through_configuration_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu_port, api_port, t_port, ui_port = free_port(), free_port(), free_port(), free_port()
    args = ["emulator", "binance", "--port", str(emu_port), "--bars-per-second", "20"]
    args += ["--api-key", KEY, "--secret", SECRET]
    emulator = spawn(
        args,
        home=home,
        log_name="emulator.log",
    )
    venue = f"http://127.0.0.1:{emu_port}"
    env = {
        "ASTS_EXCHANGES": json.dumps(
            {"binance": {"ccxt_id": "binance", "api_url": venue, "timeframe": "1d"}}
        ),
        "ASTS_EXCHANGE_BINANCE_API_KEY": KEY,
        "ASTS_EXCHANGE_BINANCE_SECRET": SECRET,
    }
    up = spawn(
        ["up", "--api-port", str(api_port), "--temporal-port", str(t_port), "--ui-port", str(ui_port)],
        home=home,
        log_name="up.log",
        env=env,
    )
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_http(f"{venue}/api/v3/ping", emulator, home / "emulator.log")
        wait_http(f"{api}/health", up, home / "up.log")
        with signed_in_client(api, home) as http:
            markets = http.get("/markets", params={"exchange": "binance"}).json()
            assert {m["symbol"] for m in markets["data"]} >= {"MSFT/USD", "GOOGL/USD"}
            r = http.post(
                "/strategies",
                json={
                    "name": "on-binance",
                    "type": "sma_cross",
                    "exchange": "binance",
                    "symbols": ["MSFT/USD"],
                    "interval": "300ms",
                    "params": {"fast": 2, "slow": 5, "size": "5"},
                },
            )
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            poll(
                lambda: (
                    sum(
                        o["status"] == "filled"
                        for o in http.get("/orders", params={"strategy_id": sid}).json()["data"]
                    )
                    >= 3
                ),
                "three filled orders",
            )
            assert http.post(f"/strategies/{sid}/halt", json={"reason": "e2e"}).status_code == 200
            poll(lambda: http.get(f"/strategies/{sid}").json()["status"] == "halted", "halted")
            poll(
                lambda: all(
                    o["status"] in ("filled", "cancelled", "rejected")
                    for o in http.get("/orders", params={"strategy_id": sid}).json()["data"]
                ),
                "every order finished",
            )
            ours = {
                o["client_order_id"]: o
                for o in http.get("/orders", params={"strategy_id": sid}).json()["data"]
            }
            positions = http.get("/positions", params={"strategy_id": sid}).json()["data"]
            reconcile = http.post("/reconcile", json={"exchange": "binance"}, timeout=120)
            assert reconcile.status_code == 200, reconcile.text
        at_venue = {o["clientOrderId"]: o for o in httpx.get(f"{venue}/emu/orders").json()}
        balances = httpx.get(f"{venue}/emu/balances").json()
        placed = {c: o for c, o in ours.items() if o["venue_order_id"]}
        assert set(placed) == set(at_venue), "ours and the venue's orders differ"
        for coid, o in placed.items():
            assert Decimal(o["filled_qty"]) == Decimal(at_venue[coid]["executedQty"])
        held = sum((Decimal(p["qty"]) for p in positions), Decimal(0))
        assert held == Decimal(str(balances["MSFT"]["free"])) + Decimal(str(balances["MSFT"]["locked"]))
        assert reconcile.json()["mismatches"] == []
        histories = asyncio.run(_histories_text(f"127.0.0.1:{t_port}", sid, home))
        assert "strategy-" in histories and KEY not in histories and SECRET not in histories
        assert SECRET not in (home / "up.log").read_text(errors="replace")
    finally:
        kill_group(up, signal.SIGTERM)
        kill_group(emulator, signal.SIGTERM)
