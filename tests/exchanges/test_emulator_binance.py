"""The Binance spot emulator driven by the real ccxt binance client: markets, orders, fills, faults."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from exchanges.data import BUNDLED, SeriesSpec
from exchanges.emulator import BinanceEmulator, emulator_urls, serve_binance_emulator

OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False, "fetchCurrencies": False}
SLOW = 0.01  # bars per second: one bar per 100 s, so the replay stands still unless a test moves it
ORDER = "/api/v3/order"


def make_client(emu: BinanceEmulator, **config: Any) -> Any:
    """The real ccxt binance client pointed at the emulator (no client-side throttling)."""
    ex = ccxt.binance(
        {
            "apiKey": emu.api_key,
            "secret": emu.secret,
            "enableRateLimit": False,
            "options": {**OPTIONS},
            **config,
        }
    )
    ex.urls["api"] = emulator_urls(ex.urls["api"], emu.url)
    return ex


@asynccontextmanager
async def running(**kwargs: Any) -> AsyncIterator[tuple[BinanceEmulator, Any]]:
    """A served emulator (a still replay unless told otherwise) and a ccxt client on it."""
    kwargs.setdefault("bars_per_second", SLOW)
    async with serve_binance_emulator(**kwargs) as emu:
        ex = make_client(emu)
        try:
            yield emu, ex
        finally:
            await ex.close()


class OffsetClock:
    """Wall-clock time plus an offset that tests move forward (so ccxt's signatures stay valid)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def advance(clock: OffsetClock, ex: Any, bars: int) -> None:
    """Move the emulator ``bars`` bars on (at SLOW speed) and let ccxt sync its timestamps to it."""
    clock.offset += timedelta(seconds=bars / SLOW)
    await ex.load_time_difference()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (without blocking the emulator's loop) until ``check()`` holds; fail after ``timeout``."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


def account(balance: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    """(free, locked) per asset from a ccxt fetch_balance result's raw Binance answer."""
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in balance["info"]["balances"]}


# ---- market data ------------------------------------------------------------------------------


async def test_load_markets_reads_exchange_info_only_with_binance_filters() -> None:
    async with running() as (emu, ex):
        markets = await ex.load_markets()
        assert emu.requests() == {"GET /api/v3/exchangeInfo": 1}
        assert set(markets) == {"MSFT/USD", "GOOGL/USD", "EUR/USD", "SPX/USD"}
        msft = markets["MSFT/USD"]
        assert (msft["id"], msft["base"], msft["quote"], msft["spot"], msft["active"]) == (
            "MSFTUSD",
            "MSFT",
            "USD",
            True,
            True,
        )
        assert msft["precision"]["amount"] == 1 and msft["precision"]["price"] == 0.01
        assert msft["limits"]["amount"]["min"] == 1 and msft["limits"]["cost"]["min"] == 10
        assert markets["EUR/USD"]["precision"]["price"] == 0.00001
        assert markets["EUR/USD"]["limits"]["amount"]["min"] == 1000
        assert int(ex.last_response_headers["X-MBX-USED-WEIGHT-1M"]) >= 20


async def test_tickers_all_in_one_request_and_a_pinned_price() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        tickers = await ex.fetch_tickers()
        assert set(tickers) == set(ex.markets)
        assert emu.request_count("GET", "/api/v3/ticker/24hr") == 1
        two = await ex.fetch_tickers(["MSFT/USD", "EUR/USD"])
        assert set(two) == {"MSFT/USD", "EUR/USD"}
        bars = BUNDLED["MSFT/USD"].candles()
        msft = await ex.fetch_ticker("MSFT/USD")
        assert msft["last"] == float(bars[200].close)  # start_bar 200, the replay stands still
        assert msft["bid"] < msft["last"] < msft["ask"]
        emu.pin_price("MSFT/USD", "123.45")
        pinned = await ex.fetch_ticker("MSFT/USD")
        assert (pinned["bid"], pinned["last"], pinned["ask"]) == (123.44, 123.45, 123.46)
        (book,) = (await ex.fetch_bids_asks(["MSFT/USD"])).values()
        assert (book["bid"], book["ask"]) == (123.44, 123.46)
        emu.pin_price("MSFT/USD", None)
        assert (await ex.fetch_ticker("MSFT/USD"))["last"] == float(bars[200].close)
        assert emu.request_count("GET", "/api/v3/ticker/24hr") == 5


async def test_ohlcv_with_since_and_limit_never_passes_the_current_bar() -> None:
    async with running() as (_, ex):
        bars = BUNDLED["MSFT/USD"].candles()

        def ms(i: int) -> int:
            return int(bars[i].ts.timestamp() * 1000)

        rows = await ex.fetch_ohlcv("MSFT/USD", "1d", since=ms(190), limit=5)
        assert [r[0] for r in rows] == [ms(i) for i in range(190, 195)]
        assert rows[0][1:] == [float(bars[190].open), float(bars[190].high), float(bars[190].low),
                               float(bars[190].close), float(bars[190].volume)]  # fmt: skip
        assert [r[0] for r in await ex.fetch_ohlcv("MSFT/USD", "1d", since=ms(198), limit=10)] == [
            ms(198),
            ms(199),
            ms(200),
        ]
        assert [r[0] for r in await ex.fetch_ohlcv("MSFT/USD", "1d", limit=3)] == [ms(198), ms(199), ms(200)]
        assert len(await ex.fetch_ohlcv("EUR/USD", "1h", limit=1000)) == 201
        with pytest.raises(ccxt.BadRequest, match="Invalid interval"):
            await ex.fetch_ohlcv("MSFT/USD", "1h")


# ---- orders and balances ----------------------------------------------------------------------


async def test_order_lifecycle_moves_balances_exactly() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        emu.pin_price("MSFT/USD", "100.00")
        buy = await ex.create_order("MSFT/USD", "market", "buy", 10, params={"newClientOrderId": "m-buy-1"})
        assert (buy["clientOrderId"], buy["status"], buy["filled"], buy["average"]) == (
            "m-buy-1",
            "closed",
            10,
            100.05,
        )
        assert buy["info"]["fills"] == [
            {"price": "100.05000000", "qty": "10.00000000", "commission": "1.00050000",
             "commissionAsset": "USD", "tradeId": 1},
        ]  # fmt: skip
        assert account(await ex.fetch_balance()) == {
            "MSFT": (Decimal(10), 0),
            "USD": (Decimal("998998.4995"), 0),
            "USDT": (Decimal(1_000_000), 0),
        }
        sell = await ex.create_order(
            "MSFT/USD", "limit", "sell", 4, 101, params={"clientOrderId": "l-sell-1"}
        )
        assert (sell["status"], sell["price"], sell["info"]["status"]) == ("open", 101, "NEW")
        assert account(await ex.fetch_balance())["MSFT"] == (6, 4)
        fetched = await ex.fetch_order(None, "MSFT/USD", params={"origClientOrderId": "l-sell-1"})
        assert (fetched["id"], fetched["status"], fetched["remaining"]) == (sell["id"], "open", 4)
        assert [o["clientOrderId"] for o in await ex.fetch_open_orders("MSFT/USD")] == ["l-sell-1"]

        emu.fill_order("l-sell-1")  # filled "while we were away", at its limit price
        filled = await ex.fetch_order(sell["id"], "MSFT/USD")
        assert (filled["status"], filled["filled"], filled["cost"]) == ("closed", 4, 404)
        assert await ex.fetch_open_orders("MSFT/USD") == []
        assert account(await ex.fetch_balance())["USD"] == (Decimal("999402.0955"), 0)  # + 404 - 0.404

        rest = await ex.create_order(
            "MSFT/USD", "limit", "buy", 5, 90, params={"newClientOrderId": "l-buy-1"}
        )
        assert account(await ex.fetch_balance())["USD"] == (Decimal("998951.6455"), Decimal("450.45"))
        cancelled = await ex.cancel_order(rest["id"], "MSFT/USD")
        # Binance answers a cancel with the cancel's own clientOrderId; the order's is origClientOrderId
        assert cancelled["status"] == "canceled" and cancelled["info"]["origClientOrderId"] == "l-buy-1"
        assert cancelled["clientOrderId"] != "l-buy-1"
        assert account(await ex.fetch_balance())["USD"] == (Decimal("999402.0955"), 0)
        with pytest.raises(ccxt.OrderNotFound, match="-2011"):
            await ex.cancel_order(rest["id"], "MSFT/USD")

        by_cost = await ex.create_market_order_with_cost("MSFT/USD", "buy", 1000)
        assert (by_cost["amount"], by_cost["cost"]) == (9, 900.45)  # floor(1000 / 100.05) at 100.05

        orders = await ex.fetch_orders("MSFT/USD")
        assert [(o["clientOrderId"], o["status"]) for o in orders][:3] == [
            ("m-buy-1", "closed"),
            ("l-sell-1", "closed"),
            ("l-buy-1", "canceled"),
        ]
        trades = await ex.fetch_my_trades("MSFT/USD")
        assert [
            (t["side"], t["amount"], t["price"], t["fee"]["cost"], t["takerOrMaker"]) for t in trades
        ] == [
            ("buy", 10, 100.05, 1.0005, "taker"),
            ("sell", 4, 101, 0.404, "maker"),
            ("buy", 9, 100.05, 0.90045, "taker"),
        ]
        assert [t["order"] for t in trades] == [buy["id"], sell["id"], by_cost["id"]]
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            await ex.fetch_order(None, "MSFT/USD", params={"origClientOrderId": "never-sent"})


async def test_venue_refusals_map_to_ccxt_errors() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("MSFT/USD", "market", "buy", 1_000_000)
        with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 5)
        base = {"symbol": "MSFTUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        with pytest.raises(ccxt.InvalidOrder, match="Filter failure: LOT_SIZE"):
            await ex.private_post_order({**base, "quantity": "1.5", "price": "20.00"})
        with pytest.raises(ccxt.InvalidOrder, match="Filter failure: PRICE_FILTER"):
            await ex.private_post_order({**base, "quantity": "1", "price": "20.001"})
        with pytest.raises(ccxt.BadRequest, match="-1100"):
            await ex.private_post_order(
                {**base, "quantity": "1", "price": "20", "newClientOrderId": "bad id!"}
            )
        with pytest.raises(ccxt.BadSymbol, match="Invalid symbol"):
            await ex.private_get_openorders({"symbol": "NOPEUSD"})
        assert emu.orders() == []


async def test_a_duplicate_client_order_id_of_an_open_order_is_rejected() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        first = await ex.create_order("MSFT/USD", "limit", "buy", 1, 20, params={"newClientOrderId": "dup-1"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 20, params={"newClientOrderId": "dup-1"})
        assert emu.request_count("POST", ORDER) == 2 and len(emu.orders()) == 1
        await ex.cancel_order(first["id"], "MSFT/USD")
        again = await ex.create_order("MSFT/USD", "limit", "buy", 1, 20, params={"newClientOrderId": "dup-1"})
        assert again["id"] != first["id"]  # Binance lets a closed order's id be used again


async def test_raw_new_order_answers_in_ack_result_and_full_form() -> None:
    async with running() as (_, ex):
        await ex.load_markets()
        base = {"symbol": "MSFTUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1"}
        ack = await ex.private_post_order({**base, "price": "20", "newOrderRespType": "ACK"})
        assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
        assert ack["clientOrderId"].startswith("x-")  # ccxt makes one up when none is given
        result = await ex.private_post_order({**base, "price": "21", "newOrderRespType": "RESULT"})
        assert result["status"] == "NEW" and "fills" not in result
        full = await ex.private_post_order({**base, "price": "22"})
        assert full["fills"] == [] and full["origQty"] == "1.00000000"


# ---- matching over the replay -----------------------------------------------------------------


async def test_a_limit_order_fills_when_a_later_bar_crosses_it(spec: SeriesSpec) -> None:
    clock = OffsetClock()
    usd = {"USD": Decimal(10_000)}
    async with running(series={spec.symbol: spec}, start_bar=5, clock=clock, balances=usd) as (_, ex):
        await ex.load_markets()
        placed = await ex.create_order(
            "TEST/USD", "limit", "buy", 5, 100, params={"newClientOrderId": "cross-1"}
        )
        await advance(clock, ex, 2)  # bars 6 and 7 (lows 105, 106) do not reach 100
        assert (await ex.fetch_order(placed["id"], "TEST/USD"))["status"] == "open"
        await advance(clock, ex, 1)  # bar 8 dips to 95
        filled = await ex.fetch_order(placed["id"], "TEST/USD")
        assert (filled["status"], filled["average"], filled["filled"]) == ("closed", 100, 5)
        (trade,) = await ex.fetch_my_trades("TEST/USD")
        assert 299_000 < trade["timestamp"] - placed["timestamp"] <= 300_000  # when bar 8 became current
        assert account(await ex.fetch_balance()) == {"TEST": (5, 0), "USD": (Decimal("9499.5"), 0)}
        assert (await ex.fetch_ticker("TEST/USD"))["last"] == 108
        assert (await ex.fetch_ohlcv("TEST/USD", "1d"))[-1][4] == 108  # nothing past the current bar


async def test_partial_fills_over_successive_bars_with_fill_parts() -> None:
    clock = OffsetClock()
    async with running(fill_parts=3, clock=clock) as (emu, ex):
        await ex.load_markets()
        emu.pin_price("MSFT/USD", "105")
        order = await ex.create_order(
            "MSFT/USD", "limit", "buy", 10, 100, params={"newClientOrderId": "part-1"}
        )
        await advance(clock, ex, 1)
        assert (await ex.fetch_order(order["id"], "MSFT/USD"))["filled"] == 0
        emu.pin_price("MSFT/USD", "99.50")
        seen = []
        for _ in range(3):
            await advance(clock, ex, 1)
            o = await ex.fetch_order(None, "MSFT/USD", params={"clientOrderId": "part-1"})
            seen.append((o["info"]["status"], o["status"], o["filled"], o["remaining"]))
        assert seen == [
            ("PARTIALLY_FILLED", "open", 3, 7),
            ("PARTIALLY_FILLED", "open", 6, 4),
            ("FILLED", "closed", 10, 0),
        ]
        trades = await ex.fetch_my_trades("MSFT/USD")
        assert [(t["amount"], t["price"], t["fee"]["cost"], t["order"]) for t in trades] == [
            (3, 100, 0.3, order["id"]),
            (3, 100, 0.3, order["id"]),
            (4, 100, 0.4, order["id"]),
        ]
        assert len({t["timestamp"] for t in trades}) == 3
        assert account(await ex.fetch_balance())["USD"] == (Decimal("998999.0"), 0)
        assert [f["qty"] for f in emu.orders()[0]["fills"]] == ["3.00000000", "3.00000000", "4.00000000"]


# ---- authentication ---------------------------------------------------------------------------


async def test_a_wrong_secret_or_key_or_a_stale_timestamp_is_refused() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        for config in ({"secret": "not-the-secret"}, {"apiKey": "not-the-key"}):
            other = make_client(emu, **config)
            try:
                with pytest.raises(ccxt.AuthenticationError):
                    await other.create_order("MSFT/USD", "limit", "buy", 1, 20)
            finally:
                await other.close()
        assert emu.request_count("POST", ORDER) == 2 and emu.orders() == []
        ex.options["timeDifference"] = 30_000  # our timestamps 30 s behind the venue
        with pytest.raises(ccxt.InvalidNonce, match="recvWindow"):
            await ex.fetch_balance()


# ---- faults -----------------------------------------------------------------------------------


async def test_drop_after_accept_leaves_the_order_at_the_venue() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        emu.faults.add("drop_after_accept", method="POST", path=ORDER)
        with pytest.raises(ccxt.NetworkError) as raised:
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50, params={"newClientOrderId": "drop-1"})
        assert type(raised.value) is ccxt.ExchangeNotAvailable
        assert emu.request_count("POST", ORDER) == 1  # aiohttp does not resend a POST
        assert [(o["clientOrderId"], o["status"]) for o in emu.orders()] == [("drop-1", "NEW")]
        found = await ex.fetch_order(None, "MSFT/USD", params={"origClientOrderId": "drop-1"})
        assert found["status"] == "open"
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50, params={"newClientOrderId": "drop-1"})


async def test_a_dropped_get_or_delete_is_resent_once_by_aiohttp() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        order = await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)
        emu.faults.add("drop_after_accept", method="DELETE", path=ORDER)
        with pytest.raises(ccxt.OrderNotFound):  # the resend finds it already cancelled by the first
            await ex.cancel_order(order["id"], "MSFT/USD")
        assert emu.request_count("DELETE", ORDER) == 2
        assert emu.orders()[0]["status"] == "CANCELED"
        emu.faults.add("drop_after_accept", method="GET", path=ORDER, times=2)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_order(order["id"], "MSFT/USD")
        assert emu.request_count("GET", ORDER) == 2


async def test_delays_time_out_with_or_without_the_order_accepted() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        ex.timeout = 300  # ms
        emu.faults.add("delay_after_accept", method="POST", path=ORDER, seconds=5)
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50, params={"newClientOrderId": "late-1"})
        assert [o["clientOrderId"] for o in emu.orders()] == ["late-1"]
        emu.faults.add("delay_before", method="POST", path=ORDER, seconds=0.8)
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50, params={"newClientOrderId": "late-2"})
        assert len(emu.orders()) == 1  # not yet: the request waits before it is processed
        await eventually(lambda: len(emu.orders()) == 2)
        assert [o["clientOrderId"] for o in emu.orders()] == ["late-1", "late-2"]


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        (500, ccxt.ExchangeNotAvailable),
        (502, ccxt.ExchangeNotAvailable),
        (503, ccxt.ExchangeNotAvailable),
        (504, ccxt.RequestTimeout),
    ],
)
async def test_http_errors_are_network_errors_and_process_nothing(
    status: int, raised: type[Exception]
) -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        emu.faults.add("http_error", method="POST", path=ORDER, status=status)
        with pytest.raises(ccxt.NetworkError) as info:
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)
        assert type(info.value) is raised
        assert emu.request_count("POST", ORDER) == 1 and emu.orders() == []
        await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)  # the rule was used up
        assert len(emu.orders()) == 1


async def test_rate_limit_and_ban_are_ddos_protection() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        emu.faults.add("rate_limit", method="POST", path=ORDER)
        emu.faults.add("ban", method="POST", path=ORDER)
        for _ in range(2):
            with pytest.raises(ccxt.DDoSProtection) as info:
                await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)
            assert type(info.value) is ccxt.DDoSProtection  # not RateLimitExceeded, which is no subclass
        assert ex.last_response_headers["Retry-After"] == "1"
        assert emu.orders() == [] and emu.faults.rules() == []


@pytest.mark.parametrize(
    ("method", "code", "msg", "raised"),
    [
        ("POST", -2010, "Account has insufficient balance for requested action.", ccxt.InsufficientFunds),
        ("POST", -2010, "Duplicate order sent.", ccxt.InvalidOrder),
        ("POST", -1121, "Invalid symbol.", ccxt.BadSymbol),
        ("POST", -1022, "Signature for this request is not valid.", ccxt.AuthenticationError),
        ("GET", -2013, "Order does not exist.", ccxt.OrderNotFound),
        (
            "GET",
            -1001,
            "Internal error; unable to process your request. Please try again.",
            ccxt.OperationFailed,
        ),
    ],
)
async def test_reject_faults_map_to_ccxt_errors(
    method: str, code: int, msg: str, raised: type[Exception]
) -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        emu.faults.add("reject", method=method, path=ORDER, code=code, msg=msg)
        with pytest.raises(raised, match=re.escape(msg)):
            if method == "POST":
                await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)
            else:
                await ex.fetch_order("1", "MSFT/USD")
        assert emu.orders() == []


async def test_an_invalid_key_after_a_successful_private_call_is_ddos_protection_in_ccxt() -> None:
    async with running() as (emu, ex):
        await ex.load_markets()
        await ex.fetch_balance()
        emu.faults.add(
            "reject", path="/api/v3/account", code=-2015, msg="Invalid API-key, IP, or permissions."
        )
        with pytest.raises(ccxt.DDoSProtection, match="-2015"):  # ccxt reads it as a temporary ban
            await ex.fetch_balance()


# ---- admin API and synthetic markets ----------------------------------------------------------


async def test_admin_http_api_steers_and_shows_the_venue() -> None:
    async with running() as (emu, ex), aiohttp.ClientSession(emu.url) as http:
        await ex.load_markets()
        rule = {"method": "POST", "path": ORDER, "action": "reject", "times": 2, "code": -2010,
                "msg": "Account has insufficient balance for requested action."}  # fmt: skip
        async with http.post("/emu/faults", json=rule) as r:
            assert r.status == 200 and [x["remaining"] for x in (await r.json())["rules"]] == [2]
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("MSFT/USD", "limit", "buy", 1, 50)
        async with http.get("/emu/faults") as r:
            assert [x["remaining"] for x in (await r.json())["rules"]] == [1]
        async with http.delete("/emu/faults") as r:
            assert (await r.json()) == {"rules": []}
        order = await ex.create_order("MSFT/USD", "limit", "buy", 2, 50, params={"newClientOrderId": "adm-1"})
        async with http.get("/emu/requests") as r:
            assert (await r.json())["POST /api/v3/order"] == 2
        async with http.post("/emu/price", json={"symbol": "MSFT/USD", "price": 123.45}) as r:
            assert (await r.json()) == {"symbol": "MSFT/USD", "price": "123.45000000"}
        assert (await ex.fetch_ticker("MSFT/USD"))["last"] == 123.45
        async with http.post("/emu/fill", json={"clientOrderId": "adm-1", "price": "49.50"}) as r:
            (filled,) = (await r.json())["orders"]
            assert filled["status"] == "FILLED" and [f["price"] for f in filled["fills"]] == ["49.50000000"]
        fetched = await ex.fetch_order(order["id"], "MSFT/USD")
        assert (fetched["status"], fetched["average"]) == ("closed", 49.5)
        async with http.get("/emu/orders") as r:
            assert [(o["clientOrderId"], o["status"], len(o["fills"])) for o in await r.json()] == [
                ("adm-1", "FILLED", 1)
            ]
        async with http.get("/emu/balances") as r:
            assert (await r.json())["MSFT"] == {"free": "2.00000000", "locked": "0.00000000"}
        async with http.post("/emu/faults", json={"action": "explode"}) as r:
            assert r.status == 400 and "unknown fault action" in (await r.json())["error"]
        async with http.post("/emu/faults", json=[{"action": "ban", "path": "/api/v3/ping"}]) as r:
            assert r.status == 200
        async with http.get("/api/v3/ping") as r:
            assert r.status == 418 and r.headers["Retry-After"] == "1"
            assert (await r.json())["code"] == -1003 and "X-MBX-USED-WEIGHT-1M" in r.headers
        async with http.post("/emu/reset") as r:
            assert r.status == 200
        assert emu.orders() == [] and emu.requests() == {}
        assert emu.balances()["USD"] == (Decimal(1_000_000), 0)


async def test_five_hundred_synthetic_markets_start_fast_and_rank() -> None:
    started = time.perf_counter()
    async with running(synthetic=500) as (emu, ex):
        assert time.perf_counter() - started < 1.0
        markets = await ex.load_markets()
        assert len(markets) == 504 and markets["S500/USDT"]["id"] == "S500USDT"
        tickers = await ex.fetch_tickers()
        assert len(tickers) == 504 and emu.request_count("GET", "/api/v3/ticker/24hr") == 1
        synth = [tickers[f"S{n:03d}/USDT"] for n in range(1, 501)]
        assert len({t["quoteVolume"] for t in synth}) == 500
        assert min(t["percentage"] for t in synth) < 0 < max(t["percentage"] for t in synth)
        rows = await ex.fetch_ohlcv("S042/USDT", "1h", limit=24)
        assert len(rows) == 24 and rows[-1][4] == tickers["S042/USDT"]["last"]
        again = BinanceEmulator(synthetic=42).venue.listings["S042USDT"].bars[:201]
        assert [float(c.close) for c in again[-24:]] == [r[4] for r in rows]  # the same seeded walk
