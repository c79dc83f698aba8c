"""The ``asts emulator binance`` command: serve the Binance spot emulator until interrupted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from exchanges.emulator.defaults import DEFAULT_API_KEY, DEFAULT_PORT, DEFAULT_SECRET

if TYPE_CHECKING:
    from exchanges.emulator.binance import BinanceEmulator


def emulator_binance(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0: any free port)")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    synthetic: Annotated[int, typer.Option(help="extra synthetic markets S001/USDT ... (0-999)")] = 0,
    api_key: Annotated[str, typer.Option(help="the API key clients must send")] = DEFAULT_API_KEY,
    secret: Annotated[str, typer.Option(help="the HMAC secret clients sign with")] = DEFAULT_SECRET,
    bars_per_second: Annotated[float, typer.Option(help="replay speed")] = 2.0,
    fill_parts: Annotated[int, typer.Option(help="trades per crossed limit order")] = 1,
) -> None:
    """Serve a Binance spot REST emulator (point ccxt's binance urls['api'] at the printed URL)."""
    from exchanges.emulator.binance import run_emulator  # the CLI starts without the emulator's weight

    def ready(emu: BinanceEmulator) -> None:
        typer.echo(f"Binance emulator on {emu.url} ({len(emu.venue.listings)} markets); Ctrl-C stops it")
        typer.echo(f"  ccxt: exchange.urls['api'] = emulator_urls(exchange.urls['api'], {emu.url!r})")
        venue = json.dumps({"binance": {"ccxt_id": "binance", "api_url": emu.url, "timeframe": "1d"}})
        typer.echo("  ASTS, for strategies on exchange 'binance' (keys as given by --api-key/--secret):")
        typer.echo(f"    ASTS_EXCHANGES='{venue}'")
        typer.echo("    ASTS_EXCHANGE_BINANCE_API_KEY=... ASTS_EXCHANGE_BINANCE_SECRET=...")

    run_emulator(
        host,
        port,
        on_ready=ready,
        synthetic=synthetic,
        api_key=api_key,
        secret=secret,
        bars_per_second=bars_per_second,
        fill_parts=fill_parts,
    )


app = typer.Typer(help="Local exchange emulators.", no_args_is_help=True)
app.command("binance")(emulator_binance)


@app.callback()
def emulator() -> None:
    """Local exchange emulators (a group even with one command, so ``emulator binance`` works)."""
