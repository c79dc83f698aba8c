"""Our ccxt adapter with the real ccxt binance client, against the Binance emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exchanges.ccxt_exchange import CcxtExchange, VenueConfig, rebase_url
from exchanges.factory import open_exchange
from tests.exchanges.binance_venue import binance_venue, credentials, venue_config
from trading.errors import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    ExchangeUnavailable,
    InsufficientBalance,
    InvalidInput,
    InvalidOrder,
    OrderNotFound,
    OrderStatusUnknown,
    UnknownSymbol,
)
from trading.models import OrderRequest, OrderStatus, OrderType, Side

ORDER = "/api/v3/order"


def market_buy(coid: str, qty: str = "10", symbol: str = "MSFT/USD", **kw: object) -> OrderRequest:
    return OrderRequest(
        client_order_id=coid, symbol=symbol, side=Side.BUY, type=OrderType.MARKET, qty=Decimal(qty), **kw
    )  # type: ignore[arg-type]


def limit(coid: str, side: Side, qty: str, price: str, symbol: str = "MSFT/USD") -> OrderRequest:
    return OrderRequest(
        client_order_id=coid,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        qty=Decimal(qty),
        price=Decimal(price),
    )


def test_rebase_url_keeps_the_path_and_query() -> None:
    assert rebase_url("https://api.binance.com/api/v3?x=1", "http://127.0.0.1:9/p") == (
        "http://127.0.0.1:9/p/api/v3?x=1"
    )


def test_unknown_ccxt_id_and_testnet_urls() -> None:
    with pytest.raises(InvalidInput, match="ccxt has no exchange"):
        CcxtExchange("x", VenueConfig(ccxt_id="no-such-venue"))
    ex = CcxtExchange("binance", VenueConfig(ccxt_id="binance", testnet=True))
    assert "testnet" in ex._ex.urls["api"]["public"]  # no request made: no session to close


async def test_markets_carry_the_venue_rules() -> None:
    async with binance_venue() as (emu, ex):
        markets = {m.symbol: m for m in await ex.markets()}
        msft = markets["MSFT/USD"]
        assert (msft.base, msft.quote) == ("MSFT", "USD")
        assert msft.qty_step > 0 and msft.price_step > 0 and msft.min_qty >= msft.qty_step
        assert await ex.market("MSFT/USD") == msft
        with pytest.raises(UnknownSymbol):
            await ex.market("NOPE/USD")
        assert emu.request_count("GET", "/api/v3/exchangeInfo") == 1  # loaded once


async def test_all_tickers_in_one_request() -> None:
    async with binance_venue(synthetic=500) as (emu, ex):
        tickers = await ex.tickers()
        assert len(tickers) >= 500
        assert emu.request_count("GET", "/api/v3/ticker/24hr") == 1
        t = tickers["S001/USDT"]
        assert t.bid <= t.last <= t.ask and t.quote_volume > 0 and t.high is not None
        some = await ex.tickers(["S002/USDT", "MSFT/USD"])
        assert set(some) == {"S002/USDT", "MSFT/USD"}
        with pytest.raises(UnknownSymbol):
            await ex.tickers(["NOPE/USD"])


async def test_ohlcv_pages_from_since() -> None:
    async with binance_venue() as (_, ex):
        last = await ex.ohlcv("MSFT/USD", 5)
        assert len(last) == 5 and all(a.ts < b.ts for a, b in itertools.pairwise(last))
        page = await ex.ohlcv("MSFT/USD", 3, since=last[0].ts)
        assert [c.ts for c in page] == [c.ts for c in last[:3]]
        assert page[0].close == last[0].close
        with pytest.raises(InvalidInput, match="has no"):
            await ex.ohlcv("MSFT/USD", 3, timeframe="7x")


async def test_market_order_fills_with_the_venues_trades_and_moves_balances() -> None:
    async with binance_venue() as (emu, ex):
        before = await ex.balance()
        order = await ex.create_order(market_buy("s1-c1-l0", "10"))
        assert order.status is OrderStatus.FILLED and order.client_order_id == "s1-c1-l0"
        assert (
            order.filled_qty == 10 and order.fills and order.fills[0].fill_id.startswith("binance:MSFT/USD:")
        )
        assert sum(f.qty for f in order.fills) == 10
        after = await ex.balance()
        assert after["MSFT"] == before.get("MSFT", 0) + 10
        spent = before["USD"] - after["USD"]
        assert spent == sum(f.qty * f.price + f.fee for f in order.fills)
        again = await ex.fetch_order("s1-c1-l0", "MSFT/USD")
        assert again.venue_order_id == order.venue_order_id and again.fills == order.fills
        assert emu.orders()[0]["clientOrderId"] == "s1-c1-l0"


async def test_amounts_are_rounded_and_small_orders_refused_without_a_request() -> None:
    async with binance_venue() as (emu, ex):
        m = await ex.market("MSFT/USD")
        order = await ex.create_order(market_buy("r1", str(Decimal(3) + m.qty_step / 3)))
        assert order.qty == 3  # rounded down to the step, never up
        with pytest.raises(InvalidOrder, match="below the minimum"):
            await ex.create_order(market_buy("r2", str(m.min_qty / 2)))
        if m.min_notional > 0:
            with pytest.raises(InvalidOrder, match="order value"):
                await ex.create_order(
                    market_buy("r3", str(m.min_qty), ref_price=m.min_notional / m.min_qty / 2)
                )
        assert emu.request_count("POST", ORDER) == 1


async def test_long_client_ids_are_hashed_to_the_venues_limit() -> None:
    coid = "a-strategy-with-a-long-name-c12-l0"  # 34 characters
    async with binance_venue({"client_order_id_max": 20}) as (emu, ex):
        order = await ex.create_order(market_buy(coid, "1"))
        sent = emu.orders()[0]["clientOrderId"]
        assert len(sent) == 20 and sent != coid and sent == ex.venue_client_id(coid)
        assert order.client_order_id == coid
        assert (await ex.fetch_order(coid, "MSFT/USD")).venue_order_id == order.venue_order_id


async def test_unknown_order_is_not_found() -> None:
    async with binance_venue() as (_, ex):
        with pytest.raises(OrderNotFound):
            await ex.fetch_order("never-placed", "MSFT/USD")


async def test_limit_order_fills_in_parts_to_completion() -> None:
    async with binance_venue(bars_per_second=4, fill_parts=3) as (emu, ex):
        last = (await ex.ticker("MSFT/USD")).last
        price = str((last * Decimal("0.9")).quantize(Decimal("0.01")))
        placed = await ex.create_order(limit("p1", Side.BUY, "9", price))
        assert placed.status is OrderStatus.OPEN and placed.filled_qty == 0
        emu.pin_price("MSFT/USD", Decimal(price) - 1)
        seen = []
        deadline = time.monotonic() + 10
        order = placed
        while not order.status.is_terminal and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            order = await ex.fetch_order("p1", "MSFT/USD")
            seen.append(order.status)
        assert order.status is OrderStatus.FILLED and order.filled_qty == 9
        assert OrderStatus.PARTIALLY_FILLED in seen
        assert len(order.fills) == 3 and len({f.fill_id for f in order.fills}) == 3
        assert order.avg_price == Decimal(price)


async def test_cancel_an_open_order_and_a_filled_one_comes_back_unchanged() -> None:
    async with binance_venue() as (_, ex):
        last = (await ex.ticker("MSFT/USD")).last
        await ex.create_order(limit("c1", Side.BUY, "2", str((last / 2).quantize(Decimal("0.01")))))
        assert [o.client_order_id for o in await ex.open_orders()] == ["c1"]
        cancelled = await ex.cancel_order("c1", "MSFT/USD")
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.client_order_id == "c1"
        assert await ex.open_orders("MSFT/USD") == []
        filled = await ex.create_order(market_buy("c2", "1"))
        assert (await ex.cancel_order("c2", "MSFT/USD")).status == filled.status
        assert {o.client_order_id for o in await ex.orders()} == {"c1", "c2"}


async def test_venue_refusals_become_our_errors() -> None:
    async with binance_venue(balances={"USD": Decimal(100)}) as (emu, ex):
        with pytest.raises(InsufficientBalance):
            await ex.create_order(market_buy("e1", "100"))
        await ex.create_order(limit("e2", Side.BUY, "1", "15.00"))
        with pytest.raises(DuplicateClientOrderId):
            await ex.create_order(limit("e2", Side.BUY, "1", "15.00"))
        emu.faults.add("reject", method="GET", path="/api/v3/ticker/24hr", code=-1121, msg="Invalid symbol.")
        with pytest.raises(UnknownSymbol):
            await ex.ticker("MSFT/USD")


async def test_a_wrong_secret_is_an_authentication_failure() -> None:
    async with binance_venue() as (emu, _):
        bad = CcxtExchange(
            "binance",
            venue_config(emu),
            credentials(emu).model_copy(update={"secret": credentials(emu).api_key}),
        )
        try:
            with pytest.raises(AuthenticationFailed):
                await bad.balance()
        finally:
            await bad.close()


async def test_5xx_is_temporary_and_ambiguous_only_for_placements() -> None:
    async with binance_venue() as (emu, ex):
        await ex.markets()
        emu.faults.add("http_error", method="GET", path="/api/v3/ticker/24hr", status=502, times=1)
        with pytest.raises(ExchangeUnavailable) as info:
            await ex.ticker("MSFT/USD")
        assert not isinstance(info.value, OrderStatusUnknown)
        emu.faults.add("http_error", method="GET", path="/api/v3/account", status=503, times=2)
        with pytest.raises(ExchangeUnavailable) as signed:
            await ex.balance()
        assert "signature" not in str(signed.value) and "/api/v3/account?" in str(signed.value)
        emu.faults.add("http_error", method="POST", path=ORDER, status=500, times=1)
        with pytest.raises(OrderStatusUnknown):
            await ex.create_order(market_buy("x1", "1"))
        assert emu.orders() == []  # the 500 came before any processing: "unknown" was right to ask


async def test_a_dropped_answer_leaves_an_order_we_find_by_client_id() -> None:
    async with binance_venue() as (emu, ex):
        emu.faults.add("drop_after_accept", method="POST", path=ORDER, times=1)
        with pytest.raises(OrderStatusUnknown):
            await ex.create_order(market_buy("d1", "1"))
        found = await ex.fetch_order("d1", "MSFT/USD")
        assert found.status is OrderStatus.FILLED and len(emu.orders()) == 1


async def test_rate_limits_wait_for_retry_after_before_any_next_call() -> None:
    async with binance_venue() as (emu, ex):
        await ex.markets()
        emu.faults.add("rate_limit", method="GET", path="/api/v3/ticker/24hr", seconds=1, times=1)
        with pytest.raises(ExchangeUnavailable) as info:
            await ex.ticker("MSFT/USD")
        assert info.value.retry_after == pytest.approx(1.0)  # the venue's Retry-After
        started = time.monotonic()
        await ex.ticker("MSFT/USD")
        assert time.monotonic() - started >= 0.9  # the cooldown held the next call back
        emu.faults.add("ban", method="GET", path="/api/v3/ticker/24hr", seconds=1, times=1)
        with pytest.raises(ExchangeUnavailable, match="rate limited"):
            await ex.ticker("MSFT/USD")


async def test_a_request_past_half_its_window_is_not_sent() -> None:
    async with binance_venue() as (emu, ex):
        await ex.markets()
        stale = datetime.now(UTC) - timedelta(seconds=0.6)  # the window is 1 s
        with pytest.raises(ExchangeUnavailable, match="not sent") as info:
            await ex.create_order(market_buy("w1", "1", sent_at=stale))
        assert not isinstance(info.value, OrderStatusUnknown)
        assert emu.request_count("POST", ORDER) == 0 and emu.orders() == []
        assert ex.settle_horizon_s == pytest.approx(2.0)
        fresh = await ex.create_order(market_buy("w2", "1", sent_at=datetime.now(UTC)))
        assert fresh.status is OrderStatus.FILLED


async def test_keys_stay_out_of_logs_and_repr(caplog: pytest.LogCaptureFixture) -> None:
    async with binance_venue() as (emu, ex):
        with caplog.at_level(logging.DEBUG):
            await ex.create_order(market_buy("k1", "1"))
            await ex.balance()
        text = caplog.text + repr(ex)
        assert emu.secret not in text and emu.api_key not in text


def test_the_factory_opens_configured_and_plain_ccxt_venues(tmp_path: object) -> None:
    cfg = VenueConfig(ccxt_id="binance", api_url="http://127.0.0.1:1")
    ex = open_exchange("mybinance", home=tmp_path, venues={"mybinance": cfg})  # type: ignore[arg-type]
    assert isinstance(ex, CcxtExchange) and ex.name == "mybinance"
    plain = open_exchange("kraken", home=tmp_path)  # type: ignore[arg-type]
    assert isinstance(plain, CcxtExchange) and plain.config.ccxt_id == "kraken"
    assert plain.settle_horizon_s == plain.config.settle_s
